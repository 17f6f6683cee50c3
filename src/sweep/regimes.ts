/**
 * Regimes of a sweep: for each objective and pipeline set (every pipeline, or only those that
 * offload), which pipeline is best at each step, the ranges of the varied value over which
 * each one wins, and the crossover values where the best one changes, interpolated between
 * the two steps it falls in. For a grid, the best pipeline at every point (a map).
 */
import { decide, type DecisionOptions, type Objective } from '../report/decision';
import type { SummaryRow } from '../report/summary';
import { formatTable } from '../report/table';
import { axisValueText, type Axis } from './axes';

/** Which pipelines a view may pick. */
export type PipelineSet = 'all' | 'offloading';

/** One objective over one pipeline set, under the point's constraints. */
export interface View {
  objective: Objective;
  set: PipelineSet;
}

/** Every view a sweep reports: each objective, over all pipelines and over offloading ones. */
export const VIEWS: View[] = (['latency', 'p95', 'energy'] as const).flatMap((objective) => (['all', 'offloading'] as const).map((set) => ({ objective, set })));

/** 'latency, offloading only'. */
export function viewName(v: View): string {
  return `${v.objective}, ${v.set === 'all' ? 'all pipelines' : 'offloading only'}`;
}

/** Constraints of a point's decision (the objective comes from the view). */
export type Constraints = Omit<DecisionOptions, 'objective'>;

/** A pipeline that sends nothing: the whole model on the device (measured or declared). */
export function isLocal(r: SummaryRow): boolean {
  return r.kind === 'device-only' || (r.source === 'declared' && Number(r.uplink_payloads) === 0);
}

const num = (v: string | number | undefined): number => (typeof v === 'number' ? v : NaN);

/** How each pipeline stands at one point under one view. */
interface Standing {
  best: string | null;
  value: Map<string, number>;
  /**
   * Slack of each constraint (requests completed, top-1 over the floor, miss share under the
   * limit): all >= 0 when the pipeline is feasible.
   */
  slack: Map<string, number[]>;
  feasible: Set<string>;
}

function stand(rows: SummaryRow[], view: View, c: Constraints): Standing {
  const d = decide(rows, { ...c, objective: view.objective });
  const value = new Map<string, number>();
  const slack = new Map<string, number[]>();
  const feasible = new Set<string>();
  let best: string | null = null;
  for (const r of d.rows) {
    const name = String(r.pipeline);
    if (view.set === 'offloading' && isLocal(r)) continue;
    value.set(name, num(r[d.objectiveColumn as keyof SummaryRow]));
    const s = [num(r.completed) > 0 ? 1 : -1];
    if (d.accuracyFloor !== undefined) s.push(num(r.accuracy) - d.accuracyFloor);
    const miss = num(r.deadline_miss_ratio);
    if (Number.isFinite(miss)) s.push(d.maxMissRatio - miss);
    slack.set(name, s.map((x) => (Number.isNaN(x) ? -1 : x)));
    if (r.feasible === 1) {
      feasible.add(name);
      if (best === null) best = name;
    }
  }
  return { best, value, slack, feasible };
}

/** Where a linear quantity going from a (t = 0) to b (t = 1) crosses 0. */
function zeroAt(a: number, b: number): number {
  if (!Number.isFinite(a) || !Number.isFinite(b) || a === b) return NaN;
  return a / (a - b);
}

/** A change of the best pipeline between two consecutive steps. */
export interface Crossover {
  /** The change falls between values[step] and values[step + 1]. */
  step: number;
  from: string | null;
  to: string | null;
  /** Interpolated value of the varied field (numeric axes). */
  value?: number;
  /** What set the value: the objectives crossing, a constraint starting or ceasing to hold, or the step's middle. */
  basis: 'objective' | 'constraint' | 'midpoint';
}

/** A range of steps over which one pipeline (or none, when nothing is feasible) is best. */
export interface Regime {
  pipeline: string | null;
  firstStep: number;
  lastStep: number;
}

/** The regimes of one view along a one-axis sweep. */
export interface ViewRegimes {
  view: View;
  best: Array<string | null>;
  regimes: Regime[];
  crossovers: Crossover[];
}

/**
 * The fraction t in [0, 1] of the step from i to i + 1 at which `to` takes over from `from`,
 * with everything interpolated linearly: the first t where `from` stops being feasible, or
 * where `to` is feasible and at most as costly.
 */
function switchAt(a: Standing, b: Standing, from: string | null, to: string | null): { t: number; basis: Crossover['basis'] } {
  // Each constraint's slack is interpolated on its own: a pipeline becomes feasible when the
  // last of them reaches 0, and stops being feasible when the first one drops below.
  const crossings = (name: string) => a.slack.get(name)!.map((s0, k) => [s0, b.slack.get(name)![k]] as const);
  const lost = from === null || b.feasible.has(from) ? Infinity : Math.min(...crossings(from).map(([s0, s1]) => (s1 < 0 ? (s0 < 0 ? 0 : zeroAt(s0, s1)) : Infinity)));
  const gained = to === null ? Infinity : a.feasible.has(to) ? 0 : Math.max(...crossings(to).map(([s0, s1]) => (s0 >= 0 ? 0 : s1 < 0 ? Infinity : zeroAt(s0, s1))));
  let cheaper = to === null ? Infinity : from === null ? 0 : NaN;
  if (from !== null && to !== null) {
    const d0 = a.value.get(from)! - a.value.get(to)!;
    const d1 = b.value.get(from)! - b.value.get(to)!;
    if (d0 > 0) cheaper = 0;
    else if (!(d1 > 0)) cheaper = Infinity; // still costlier at i + 1: only a lost constraint explains the change
    else cheaper = zeroAt(d0, d1);
  }
  const takeover = Math.max(gained, cheaper);
  const t = Math.min(lost, takeover);
  if (!(t >= 0 && t <= 1)) return { t: 0.5, basis: 'midpoint' };
  const basis = t === lost || gained > cheaper ? 'constraint' : 'objective';
  return { t, basis };
}

/** The axis value a fraction t of the way from step i to i + 1 (log axes in log space). */
export function between(ax: Axis, i: number, t: number): number {
  const a = ax.values[i] as number, b = ax.values[i + 1] as number;
  const v = ax.log ? Math.exp(Math.log(a) + t * (Math.log(b) - Math.log(a))) : a + t * (b - a);
  return Number(v.toPrecision(6));
}

/** Regimes of every view along one axis: `rows[i]` and `constraints[i]` belong to step i. */
export function sweepRegimes(ax: Axis, rows: SummaryRow[][], constraints: Constraints[], views: View[] = VIEWS): ViewRegimes[] {
  return views.map((view) => {
    const st = rows.map((r, i) => stand(r, view, constraints[i]));
    const best = st.map((s) => s.best);
    const regimes: Regime[] = [];
    const crossovers: Crossover[] = [];
    best.forEach((b, i) => {
      const last = regimes[regimes.length - 1];
      if (last && last.pipeline === b) {
        last.lastStep = i;
        return;
      }
      if (last) {
        const c: Crossover = { step: i - 1, from: last.pipeline, to: b, basis: 'midpoint' };
        if (ax.kind === 'numeric') {
          const { t, basis } = switchAt(st[i - 1], st[i], last.pipeline, b);
          c.value = between(ax, i - 1, t);
          c.basis = basis;
        }
        crossovers.push(c);
      }
      regimes.push({ pipeline: b, firstStep: i, lastStep: i });
    });
    return { view, best, regimes, crossovers };
  });
}

/** The best pipeline of a view at each point of a grid, index [j][i] (second axis, first axis). */
export function gridMap(axes: Axis[], rows: SummaryRow[][], constraints: Constraints[], view: View): Array<Array<string | null>> {
  const n0 = axes[0].values.length;
  const out: Array<Array<string | null>> = [];
  rows.forEach((r, k) => {
    const j = Math.floor(k / n0);
    (out[j] ??= []).push(stand(r, view, constraints[k]).best);
  });
  return out;
}

const tick = (name: string | null, verb = ''): string => (name === null ? 'no pipeline meets the constraints' : `\`${name}\`${verb}`);

/**
 * One line per view: "below 180 kbit/s `A` wins; from 180 kbit/s to 2.1 Mbit/s `B`; above
 * that `C`" for a numeric axis (boundaries at the crossovers), "jetson-nano: `A`; ..." for a
 * list of profiles.
 */
export function regimeLine(ax: Axis, r: ViewRegimes): string {
  const v = (x: number | string) => axisValueText(ax, x);
  if (ax.kind !== 'numeric') return ax.values.map((x, i) => `${v(x)}: ${tick(r.best[i])}`).join('; ');
  const lo = ax.values[0], hi = ax.values[ax.values.length - 1];
  if (r.regimes.length === 1) return `${tick(r.regimes[0].pipeline, ' wins')} over the whole range (${v(lo)} to ${v(hi)})`;
  return r.regimes
    .map((g, k) => {
      if (k === 0) return `below ${v(r.crossovers[0].value!)} ${tick(g.pipeline, ' wins')}`;
      if (k === r.regimes.length - 1) return `above ${v(r.crossovers[k - 1].value!)} ${tick(g.pipeline)}`;
      return `from ${v(r.crossovers[k - 1].value!)} to ${v(r.crossovers[k].value!)} ${tick(g.pipeline)}`;
    })
    .join('; ');
}

/** "1.23 Mbit/s (step 9-10: 1 Mbit/s..1.62 Mbit/s): A -> B, where the objectives cross". */
export function crossoverLine(ax: Axis, c: Crossover): string {
  const v = (x: number | string) => axisValueText(ax, x);
  const why = c.basis === 'objective' ? 'where their objectives cross' : c.basis === 'constraint' ? 'where a constraint starts or stops holding' : 'the middle of the step';
  const at = c.value !== undefined ? `${v(c.value)} ` : '';
  return `${at}(between steps ${c.step + 1} and ${c.step + 2}: ${v(ax.values[c.step])}..${v(ax.values[c.step + 1])}): ${c.from ?? 'none'} -> ${c.to ?? 'none'}, ${why}`;
}

/** A text map of a grid: one letter per pipeline, with the legend. */
export function gridText(axes: Axis[], map: Array<Array<string | null>>): string {
  const names = [...new Set(map.flat().filter((x): x is string => x !== null))].sort();
  const letter = (n: string | null) => (n === null ? '-' : names.indexOf(n) < 26 ? String.fromCharCode(65 + names.indexOf(n)) : String(names.indexOf(n)));
  const table = formatTable(
    [`${axes[1].field} \\ ${axes[0].field}`, ...axes[0].values.map((x) => axisValueText(axes[0], x))],
    map.map((row, j) => [axisValueText(axes[1], axes[1].values[j]), ...row.map(letter)]),
  );
  const legend = names.map((n) => `  ${letter(n)} = ${n}`).join('\n');
  return `${table}\n${legend}${map.flat().includes(null) ? '\n  - = no pipeline meets the constraints' : ''}`;
}
