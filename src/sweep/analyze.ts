/**
 * What a sweep's rows say: regimes and crossovers per view (one axis) or best-pipeline maps
 * (a grid), as text for the console and the report, and the sweep's plots. Built from the
 * rows of sweep.csv and the description in sweep.json, so a report can be rebuilt from them.
 */
import { OBJECTIVE_COLUMNS, decide, type Objective } from '../report/decision';
import { gridMapPlot, sweepPlot, type Plot, type SweepSeries } from '../report/plots';
import type { SummaryRow } from '../report/summary';
import { axisValueText, type Axis } from './axes';
import {
  crossoverLine, gridMap, gridText, regimeLine, sweepRegimes, viewName, VIEWS,
  type Constraints, type View, type ViewRegimes,
} from './regimes';

/** sweep.json: what was varied, how each point was decided, and the regimes found. */
export interface SweepMeta {
  command: 'sweep';
  splitsim_version: string;
  scenario: string;
  scenario_file: string;
  seed: number;
  /** The objective sweep.csv's rank, best and feasible columns use. */
  objective: Objective;
  axes: Axis[];
  notes: string[];
  points: Array<{ point: number; values: Array<number | string>; constraints: Constraints }>;
  /** Filled in from the analysis when written. */
  regimes?: unknown;
}

/** One view's findings. */
export interface ViewFinding {
  view: View;
  name: string;
  /** One axis: the regimes line and the crossovers. */
  line?: string;
  crossovers?: Array<{ text: string; value?: number; step: number; from: string | null; to: string | null; basis: string }>;
  regimes?: ViewRegimes;
  /** A grid: the best pipeline at [second axis][first axis]. */
  map?: Array<Array<string | null>>;
  mapText?: string;
}

/** Everything the console, sweep.json and the report show of a sweep. */
export interface SweepAnalysis {
  axes: Axis[];
  constraintText: string;
  findings: ViewFinding[];
  text: string;
  plots: Plot[];
}

const num = (v: string | number | undefined): number => (typeof v === 'number' ? v : NaN);

/** Rows of sweep.csv grouped by point, in point order. */
export function rowsByPoint(rows: SummaryRow[], points: number): SummaryRow[][] {
  const out: SummaryRow[][] = Array.from({ length: points }, () => []);
  for (const r of rows) {
    const p = num((r as Record<string, string | number>).point);
    if (!(Number.isInteger(p) && p >= 0 && p < points)) throw new Error(`sweep.csv: row of ${r.pipeline} has point ${p}, outside 0..${points - 1}`);
    out[p].push(r);
  }
  return out;
}

/** The constraints of the first point, in words. */
function constraintWords(rows: SummaryRow[], c: Constraints, same: boolean): string {
  const d = decide(rows, { ...c, objective: 'latency' });
  const parts = [d.accuracyFloor !== undefined ? `top-1 >= ${(100 * d.accuracyFloor).toFixed(2)}% (${d.floorReason})` : 'no top-1 floor'];
  const deadlines = [...new Set(rows.map((r) => num(r.deadline_ms)).filter(Number.isFinite))];
  if (deadlines.length > 0) parts.push(`deadline ${deadlines.join('/')} ms missed by at most ${(100 * c.maxMissRatio).toFixed(1)}% of requests`);
  return `${parts.join(', ')}${same ? '' : ' at the first point (each point is decided under its own)'}`;
}

function axisTitle(ax: Axis): string {
  const unit = /Bps$/.test(ax.field) ? ' (bit/s)' : /Ms$/.test(ax.field) ? ' (ms)' : /Bytes$/.test(ax.field) ? ' (B)' : '';
  return `${ax.field}${unit}${ax.log ? ', log scale' : ''}`;
}

/** Series of one metric for a sweep plot, with the bests and crossovers of the given views. */
function series(ax: Axis, byPoint: SummaryRow[][], column: string, regimes: ViewRegimes[]): SweepSeries {
  const x = (i: number) => ax.values[i];
  return {
    field: ax.field,
    axisTitle: axisTitle(ax),
    log: ax.log,
    numeric: ax.kind === 'numeric',
    values: ax.kind === 'numeric' ? ax.values : ax.values.map(String),
    points: byPoint.flatMap((rows, i) => rows.map((r) => ({ step: i, x: x(i), pipeline: String(r.pipeline), y: num(r[column as keyof SummaryRow]) }))),
    bests: regimes.flatMap((g) => g.best.flatMap((b, i) => (b === null ? [] : [{ set: g.view.set === 'all' ? 'best' : 'best offloading', step: i, pipeline: b }]))),
    crossovers: regimes.flatMap((g) => g.crossovers.filter((c) => c.value !== undefined).map((c) => ({ set: g.view.set, value: c.value!, label: axisValueText(ax, c.value!) }))),
  };
}

/** Analyses a sweep from its rows (sweep.csv) and description (sweep.json). */
export function analyzeSweep(rows: SummaryRow[], meta: SweepMeta): SweepAnalysis {
  const byPoint = rowsByPoint(rows, meta.points.length);
  const constraints = meta.points.map((p) => p.constraints);
  const same = constraints.every((c) => JSON.stringify(c) === JSON.stringify(constraints[0]));
  const constraintText = constraintWords(byPoint[0], constraints[0], same);
  const axes = meta.axes;
  const findings: ViewFinding[] = [];
  const plots: Plot[] = [];
  const lines: string[] = [];
  const shape = axes.length === 1
    ? `${axes[0].field} over ${axes[0].values.length} ${axes[0].kind === 'numeric' ? `${axes[0].log ? 'log-spaced ' : ''}steps (${axisValueText(axes[0], axes[0].values[0])} to ${axisValueText(axes[0], axes[0].values[axes[0].values.length - 1])})` : 'profiles'}`
    : `a grid of ${axes[0].field} (${axes[0].values.length}) x ${axes[1].field} (${axes[1].values.length})`;
  lines.push(`regimes: ${shape}; constraints: ${constraintText}`);
  for (const n of meta.notes) lines.push(`note: ${n}`);
  if (axes.length === 1) {
    const ax = axes[0];
    const all = sweepRegimes(ax, byPoint, constraints, VIEWS);
    for (const g of all) {
      const line = regimeLine(ax, g);
      const crossovers = g.crossovers.map((c) => ({ text: crossoverLine(ax, c), value: c.value, step: c.step, from: c.from, to: c.to, basis: c.basis }));
      findings.push({ view: g.view, name: viewName(g.view), line, crossovers, regimes: g });
      lines.push(`  ${viewName(g.view)}: ${line}`);
      for (const c of crossovers) lines.push(`      crossover at ${c.text}`);
    }
    // A metric no pipeline has (energy without a device profile) gets no plot.
    const plot = (name: string, title: string, metric: string, o: Objective, caption: string) => {
      const s = series(ax, byPoint, OBJECTIVE_COLUMNS[o], all.filter((g) => g.view.objective === o));
      if (s.points.some((p) => p.y > 0)) plots.push(sweepPlot(name, title, metric, s, caption));
    };
    plot('sweep-latency', `Mean latency against ${ax.field}`, 'mean end-to-end latency (ms, log scale)', 'latency',
      `Mean end-to-end latency of every pipeline at every step of ${ax.field} (grey); in colour the pipelines that are best (latency objective) somewhere, over all pipelines (circles) or over those that offload (triangles); dashed red rules: the interpolated crossovers.`);
    plot('sweep-energy', `Energy per request against ${ax.field}`, 'device energy per request (mJ, log scale)', 'energy',
      `Device energy per request of every pipeline at every step of ${ax.field}; colours, markers and rules as in the latency plot, for the energy objective.`);
  } else {
    for (const view of VIEWS) {
      const map = gridMap(axes, byPoint, constraints, view);
      const mapText = gridText(axes, map);
      findings.push({ view, name: viewName(view), map, mapText });
      lines.push(`  ${viewName(view)}:`);
      lines.push(...mapText.split('\n').map((l) => `    ${l}`));
      if (view.objective === meta.objective) {
        const xs = axes[0].values.map((v) => axisValueText(axes[0], v));
        const ys = axes[1].values.map((v) => axisValueText(axes[1], v));
        const cells = map.flatMap((row, j) => row.map((b, i) => ({ x: xs[i], y: ys[j], best: b ?? 'none meets the constraints' })));
        const suffix = view.set === 'all' ? '' : '-offloading';
        plots.push(gridMapPlot(`sweep-map${suffix}`, `Best pipeline (${viewName(view)})`, cells, xs, ys, [axisTitle(axes[0]), axisTitle(axes[1])],
          `The best pipeline at every point of the grid for the ${view.objective} objective over ${view.set === 'all' ? 'all pipelines' : 'the pipelines that offload'}, under the constraints.`));
      }
    }
  }
  return { axes, constraintText, findings, text: lines.join('\n'), plots };
}

/** The findings as sweep.json stores them. */
export function findingsJson(a: SweepAnalysis): unknown {
  return a.findings.map((f) => ({
    view: f.view,
    ...(f.line !== undefined ? { regimes: f.line, best: f.regimes!.best, crossovers: f.crossovers } : {}),
    ...(f.map ? { map: f.map } : {}),
  }));
}
