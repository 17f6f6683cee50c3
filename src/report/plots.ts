/**
 * Plots of a run and of a sweep as Vega-Lite specifications (data inline, so each spec file
 * renders on its own and can be restyled), rendered to SVG in Node by Vega (no browser, no
 * canvas). A spec here only says what to draw; the layout, axes and text are Vega's.
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { SummaryRow } from './summary';

/** A Vega-Lite specification as plain JSON. */
export type PlotSpec = Record<string, unknown>;

/** A plot to save: `name`.svg and `name`.vl.json, with a caption for the report. */
export interface Plot {
  name: string;
  title: string;
  caption: string;
  spec: PlotSpec;
}

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v5.json';
const num = (v: string | number | undefined): number => (typeof v === 'number' ? v : NaN);
const finite = (v: number): boolean => Number.isFinite(v);

/** Pipeline kinds as a reader names them. */
const KIND_LABELS: Record<string, string> = {
  input: 'input codec (whole model on the server)',
  naive: 'naive split (quantised features)',
  bottleneck: 'SC2 student (learned bottleneck)',
  'channel-reduction': 'channel-reduction baseline',
  'codec-feature': 'codec feature compression (JPEG/WebP of the tiled features)',
  'end-to-end': 'End-to-End (learned bottleneck, no teacher)',
  'hyperprior-student': 'SC2 student (mean-scale hyperprior)',
  'neural-input': 'neural input codec (whole teacher on the server)',
  declared: 'declared',
};

/** Renders a Vega-Lite spec to an SVG document. */
export async function renderSvg(spec: PlotSpec): Promise<string> {
  const compiled = compile(spec as unknown as TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

function localRow(r: SummaryRow): boolean {
  return r.kind === 'device-only' || (r.source === 'declared' && num(r.uplink_payloads) === 0);
}

/**
 * Bytes per sample against top-1 for every pipeline that sends something, by kind, with the
 * front of pipelines no other beats on both (fewer bytes and at least the top-1); the
 * device-only top-1 (nothing sent) as a dashed rule.
 */
export function rateAccuracyPlot(rows: SummaryRow[]): Plot | undefined {
  const pts = rows
    .filter((r) => !localRow(r) && finite(num(r.bytes_mean)) && num(r.bytes_mean) > 0 && finite(num(r.accuracy)))
    .map((r) => ({ pipeline: String(r.pipeline), kind: KIND_LABELS[String(r.kind)] ?? String(r.kind), bytes: num(r.bytes_mean), top1: 100 * num(r.accuracy) }));
  if (pts.length === 0) return undefined;
  const front: typeof pts = [];
  for (const p of [...pts].sort((a, b) => a.bytes - b.bytes || b.top1 - a.top1)) {
    if (front.length === 0 || p.top1 > front[front.length - 1].top1) front.push(p);
  }
  const local = rows.filter((r) => localRow(r) && finite(num(r.accuracy))).map((r) => ({ pipeline: String(r.pipeline), top1: 100 * num(r.accuracy), label: `${r.pipeline} (nothing sent)` }));
  const x = { field: 'bytes', type: 'quantitative', scale: { type: 'log' }, title: 'bytes per sample (mean payload)' };
  const y = { field: 'top1', type: 'quantitative', scale: { zero: false }, title: 'top-1 (%)' };
  const layer: PlotSpec[] = [
    { data: { values: front }, mark: { type: 'line', interpolate: 'step-after', color: '#333', strokeDash: [4, 3] }, encoding: { x, y } },
    {
      data: { values: pts },
      mark: { type: 'point', filled: true, size: 70, opacity: 0.85 },
      encoding: { x, y, color: { field: 'kind', type: 'nominal', title: 'pipeline', scale: { scheme: 'tableau20' }, legend: { labelLimit: 0 } }, shape: { field: 'kind', type: 'nominal', title: 'pipeline', legend: { labelLimit: 0 } }, tooltip: [{ field: 'pipeline' }, { field: 'bytes', format: '.1f' }, { field: 'top1', format: '.2f' }] },
    },
  ];
  if (local.length > 0) {
    layer.push({ data: { values: local }, mark: { type: 'rule', color: '#777', strokeDash: [2, 2] }, encoding: { y: { field: 'top1', type: 'quantitative' } } });
    layer.push({ data: { values: local }, mark: { type: 'text', align: 'left', dx: 4, dy: -6, color: '#555', x: 0 }, encoding: { y: { field: 'top1', type: 'quantitative' }, text: { field: 'label' } } });
  }
  return {
    name: 'rate-accuracy',
    title: 'Rate–accuracy',
    caption: 'Mean payload bytes per sample against top-1, per pipeline that sends something; the dashed step line is the front (no pipeline sends fewer bytes at a higher top-1); the grey rule is the top-1 of running everything on the device.',
    spec: { $schema: SCHEMA, title: 'Rate–accuracy: bytes per sample vs top-1', width: 620, height: 340, layer },
  };
}

const STAGES = [
  ['device_queue_ms', 'device queue'],
  ['device_ms', 'device'],
  ['uplink_ms', 'uplink'],
  ['edge_queue_ms', 'edge queue'],
  ['edge_ms', 'edge'],
  ['downlink_ms', 'downlink'],
] as const;

/** Stacked horizontal bars, one per pipeline in rank order, with an optional tick per pipeline. */
function stackedBars(rows: SummaryRow[], parts: ReadonlyArray<readonly [string, string]>, unit: string, tick?: { column: keyof SummaryRow; label: string }): PlotSpec[] {
  const long = rows.flatMap((r) => parts.map(([col, label], k) => ({ pipeline: String(r.pipeline), rank: num(r.rank), part: label, order: k, value: num(r[col as keyof SummaryRow]) })))
    .filter((d) => finite(d.value));
  const y = { field: 'pipeline', type: 'nominal', sort: { field: 'rank', op: 'min', order: 'ascending' }, title: null, axis: { labelLimit: 420 } };
  const layer: PlotSpec[] = [{
    data: { values: long },
    mark: { type: 'bar' },
    encoding: {
      y,
      x: { field: 'value', type: 'quantitative', stack: 'zero', title: unit },
      color: { field: 'part', type: 'nominal', sort: parts.map((p) => p[1]), title: null, legend: { orient: 'top', direction: 'horizontal' } },
      order: { field: 'order', type: 'quantitative' },
      tooltip: [{ field: 'pipeline' }, { field: 'part' }, { field: 'value', format: '.3f' }],
    },
  }];
  if (tick) {
    const marks = rows.filter((r) => finite(num(r[tick.column]))).map((r) => ({ pipeline: String(r.pipeline), rank: num(r.rank), value: num(r[tick.column]), what: tick.label }));
    layer.push({ data: { values: marks }, mark: { type: 'tick', color: 'black', thickness: 2 }, encoding: { y, x: { field: 'value', type: 'quantitative' }, tooltip: [{ field: 'pipeline' }, { field: 'what' }, { field: 'value', format: '.3f' }] } });
  }
  return layer;
}

/** Mean end-to-end latency of every pipeline split into its stages, p95 as a black tick. */
export function latencyBreakdownPlot(rows: SummaryRow[]): Plot {
  return {
    name: 'latency-breakdown',
    title: 'Latency breakdown',
    caption: 'Mean end-to-end latency of completed requests, split into its stages (the stage means add up to the mean); the black tick is the 95th percentile. Pipelines in rank order.',
    spec: { $schema: SCHEMA, title: 'Latency per pipeline: stage means (bars) and p95 (tick)', width: 560, height: { step: 14 }, layer: stackedBars(rows, STAGES, 'ms per request', { column: 'e2e_p95_ms', label: 'p95' }) },
  };
}

/** Device energy per request of every pipeline: compute and radio. */
export function energyBreakdownPlot(rows: SummaryRow[]): Plot {
  return {
    name: 'energy-breakdown',
    title: 'Energy breakdown',
    caption: "Device energy per request: compute (active power while computing, idle power otherwise) and radio (transfer, tail and promotion of the devices' radio model). Pipelines in rank order.",
    spec: { $schema: SCHEMA, title: 'Device energy per request: compute and radio', width: 560, height: { step: 14 }, layer: stackedBars(rows, [['energy_compute_mj', 'compute'], ['energy_radio_mj', 'radio']], 'mJ per request') },
  };
}

/** The plots of one run's summary rows (in rank order). */
export function runPlots(rows: SummaryRow[]): Plot[] {
  const ra = rateAccuracyPlot(rows);
  // Without a device profile (and radio model) there is no energy to break down.
  const energy = rows.some((r) => finite(num(r.energy_compute_mj)) || finite(num(r.energy_radio_mj)));
  return [...(ra ? [ra] : []), latencyBreakdownPlot(rows), ...(energy ? [energyBreakdownPlot(rows)] : [])];
}

/** What a sweep plot draws: every pipeline's metric at every step, the bests and the crossovers. */
export interface SweepSeries {
  field: string;
  /** Axis title (field and unit). */
  axisTitle: string;
  log: boolean;
  numeric: boolean;
  /** Axis values in step order (labels for profile axes). */
  values: Array<number | string>;
  /** One entry per (step, pipeline). */
  points: Array<{ step: number; x: number | string; pipeline: string; y: number }>;
  /** Best pipeline per step, per pipeline set ('best', 'best offloading'). */
  bests: Array<{ set: string; step: number; pipeline: string }>;
  crossovers: Array<{ set: string; value: number; label: string }>;
}

/** How far above the largest best value a sweep plot's scale reaches. */
const CLIP = 30;

/**
 * A metric against the swept value: every pipeline as a thin grey line, the pipelines that
 * are best somewhere in colour, the best one at each step marked (circle: over all pipelines,
 * triangle: over offloading ones), crossovers as dashed rules.
 */
export function sweepPlot(name: string, title: string, metric: string, s: SweepSeries, caption: string): Plot {
  const winners = new Set(s.bests.map((b) => b.pipeline));
  const pts = s.points.filter((p) => finite(p.y) && p.y > 0);
  const key = new Map(pts.map((p) => [`${p.step}\u0000${p.pipeline}`, p]));
  const best = s.bests.flatMap((b) => {
    const p = key.get(`${b.step}\u0000${b.pipeline}`);
    return p ? [{ ...p, set: b.set }] : [];
  });
  const x = s.numeric
    ? { field: 'x', type: 'quantitative', scale: { type: s.log ? 'log' : 'linear' }, title: s.axisTitle, axis: { format: '~s' } }
    : { field: 'x', type: 'ordinal', sort: s.values, title: s.axisTitle, axis: { labelAngle: 0 } };
  // Overloaded pipelines reach values orders of magnitude above the rest; the scale stops at
  // CLIP times the largest best value so that the region where the choice is made stays readable.
  const top = Math.max(...best.map((b) => b.y));
  const max = Math.max(...pts.map((p) => p.y));
  const clipped = Number.isFinite(top) && max > CLIP * top;
  const y = { field: 'y', type: 'quantitative', scale: { type: 'log', ...(clipped ? { domainMax: CLIP * top } : {}) }, title: metric, axis: { format: '~g' } };
  const layer: PlotSpec[] = [
    { data: { values: pts.filter((p) => !winners.has(p.pipeline)) }, mark: { type: 'line', color: '#bbb', strokeWidth: 1, opacity: 0.6, clip: true }, encoding: { x, y, detail: { field: 'pipeline', type: 'nominal' } } },
    {
      data: { values: pts.filter((p) => winners.has(p.pipeline)) },
      mark: { type: 'line', strokeWidth: 2.2, clip: true },
      encoding: { x, y, color: { field: 'pipeline', type: 'nominal', title: 'best somewhere', legend: { orient: 'bottom', direction: 'vertical', labelLimit: 520 } }, tooltip: [{ field: 'pipeline' }, { field: 'x' }, { field: 'y', format: '.3f' }] },
    },
    {
      data: { values: best },
      mark: { type: 'point', filled: true, size: 90, color: 'black', clip: true },
      encoding: { x, y, shape: { field: 'set', type: 'nominal', title: 'marker', scale: { domain: ['best', 'best offloading'], range: ['circle', 'triangle-up'] }, legend: { orient: 'top' } }, tooltip: [{ field: 'set' }, { field: 'pipeline' }, { field: 'x' }, { field: 'y', format: '.3f' }] },
    },
  ];
  if (s.numeric && s.crossovers.length > 0) {
    const cx = { field: 'value', type: 'quantitative' };
    layer.push({ data: { values: s.crossovers }, mark: { type: 'rule', strokeDash: [5, 3], color: '#c00' }, encoding: { x: cx } });
    layer.push({ data: { values: s.crossovers }, mark: { type: 'text', angle: 270, align: 'right', baseline: 'bottom', dx: -4, dy: -2, color: '#c00', y: 0 }, encoding: { x: cx, text: { field: 'label' } } });
  }
  const sub = clipped ? `values above ${Number((CLIP * top).toPrecision(2))} (${CLIP} x the largest best value) are cut off; sweep.csv has them` : undefined;
  return { name, title, caption, spec: { $schema: SCHEMA, title: sub ? { text: title, subtitle: sub } : title, width: 640, height: 380, layer } };
}

/** The best pipeline at every point of a grid, one colour per pipeline. */
export function gridMapPlot(name: string, title: string, cells: Array<{ x: string; y: string; best: string }>, xs: string[], ys: string[], axisTitles: [string, string], caption: string): Plot {
  return {
    name,
    title,
    caption,
    spec: {
      $schema: SCHEMA,
      title,
      data: { values: cells },
      width: { step: 46 },
      height: { step: 30 },
      layer: [
        { mark: { type: 'rect', stroke: 'white' }, encoding: { x: { field: 'x', type: 'ordinal', sort: xs, title: axisTitles[0] }, y: { field: 'y', type: 'ordinal', sort: [...ys].reverse(), title: axisTitles[1] }, color: { field: 'best', type: 'nominal', title: 'best pipeline', legend: { orient: 'bottom', direction: 'vertical', labelLimit: 520 } }, tooltip: [{ field: 'x' }, { field: 'y' }, { field: 'best' }] } },
      ],
    },
  };
}
