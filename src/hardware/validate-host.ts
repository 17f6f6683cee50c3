/**
 * Host validation: predicts every layer of real models with the `host` profile, runs the
 * same layers (and the whole models) in tfjs on this machine, and reports the errors per
 * layer category and per model. Also prints the published-measurement table, so both README
 * tables come from one command: `npm run validate-host`.
 *
 * A shared machine's speed drifts by tens of percent over minutes, so every whole-model
 * measurement directly follows its own fresh calibration (seconds apart, not minutes), this
 * is repeated over several rounds, and the median error over the rounds is reported with
 * its range.
 */
import * as fs from 'fs';
import * as path from 'path';
import { analyzeModel, type ModelAnalysis } from '../model/analysis';
import { initBackend, tf } from '../model/backend';
import { buildReferenceModel } from '../model/reference';
import { writeFileAtomic } from '../util/atomic';
import { hostProfile, runCalibration, timeMs } from './calibrate';
import { predictLayers, sumMs } from './cost';
import { listZooNames, loadZooLayersModel, ZOO_DIR } from './model-source';
import { defaultRuntime, loadProfile, type HardwareProfile } from './profile';
import { medianAbs, validatePublished, type ValidationRow } from './published';

/** Predicted and measured time of one layer. */
export interface HostLayerRow {
  model: string;
  layer: string;
  type: string;
  category: string;
  predictedMs: number;
  measuredMs: number;
  errorPct: number;
}

/** Predicted and measured time of a whole model (LayersModel.predict, batch 1), over rounds. */
export interface HostModelRow {
  model: string;
  input: string;
  layers: number;
  /** Medians over the rounds. */
  predictedMs: number;
  measuredMs: number;
  /** Median over the rounds of each round's signed error, and the smallest and largest. */
  errorPct: number;
  errorMinPct: number;
  errorMaxPct: number;
  rounds: number;
}

/** A model to validate: a name and a way to build it (disposed after use). */
export interface HostTarget {
  name: string;
  build: () => Promise<tf.LayersModel> | tf.LayersModel;
}

const pct = (pred: number, meas: number): number => ((pred - meas) / meas) * 100;

/**
 * Times every layer of a model on its own: random inputs of the layer's shapes (batch 1),
 * `layer.apply` in eager mode, median of repeats (process CPU time on wasm/cpu, see benchClock).
 */
export function measureLayerMs(model: tf.LayersModel, budgetMs = 60, minReps = 3): Map<string, number> {
  const out = new Map<string, number>();
  for (const layer of model.layers) {
    if (layer.getClassName() === 'InputLayer') continue;
    const node = layer.inboundNodes[0];
    const shapes = (Array.isArray(node.inputShapes[0]) ? node.inputShapes : [node.inputShapes]) as Array<Array<number | null>>;
    const inputs = shapes.map((s) => tf.randomUniform(s.map((d) => d ?? 1), 0, 1, 'float32', 11));
    try {
      const { ms } = timeMs(() => layer.apply(inputs.length === 1 ? inputs[0] : inputs) as tf.Tensor, budgetMs, minReps);
      out.set(layer.name, ms);
    } finally {
      tf.dispose(inputs);
    }
  }
  return out;
}

/** Median time of model.predict on one random sample. */
export function measureModelMs(model: tf.LayersModel, budgetMs = 3000, minReps = 5): number {
  const shape = (model.inputs[0].shape as Array<number | null>).map((d) => d ?? 1);
  const x = tf.randomUniform(shape, 0, 1, 'float32', 5);
  try {
    return timeMs(() => model.predict(x) as tf.Tensor, budgetMs, minReps).ms;
  } finally {
    x.dispose();
  }
}

function median(xs: number[]): number {
  const a = xs.slice().sort((x, y) => x - y);
  const m = a.length >> 1;
  return a.length % 2 ? a[m] : (a[m - 1] + a[m]) / 2;
}

/**
 * Predicts and measures each target. `profileFor(round, target)` gives the profile to
 * predict with, obtained right before that measurement (a fresh calibration, or the same
 * file every time). Every layer is timed on its own in round 0; whole models once a round,
 * all rounds of one model before the next model is built.
 */
export async function validateHost(
  targets: HostTarget[],
  profileFor: (round: number, target: string) => Promise<HardwareProfile>,
  options: { rounds?: number; layerBudgetMs?: number; modelBudgetMs?: number; log?: (m: string) => void } = {},
): Promise<{ layers: HostLayerRow[]; models: HostModelRow[]; profiles: HardwareProfile[] }> {
  const rounds = options.rounds ?? 3;
  const layers: HostLayerRow[] = [];
  const profiles: HardwareProfile[] = [];
  const done: Array<{ name: string; analysis: ModelAnalysis; rounds: Array<{ predicted: number; measured: number }> }> = [];
  // One model in memory at a time (VGG-16 and ResNet-50 together would crowd the wasm heap).
  for (const t of targets) {
    let model: tf.LayersModel;
    try {
      model = await t.build();
    } catch (e) {
      // A zoo model being re-exported while this runs is skipped, not fatal.
      options.log?.(`skipping ${t.name}: ${(e as Error).message}`);
      continue;
    }
    try {
      const analysis = analyzeModel(model, 'fp32', t.name);
      const rs: Array<{ predicted: number; measured: number }> = [];
      for (let r = 0; r < rounds; r++) {
        const profile = await profileFor(r, t.name);
        profiles.push(profile);
        const costs = predictLayers(analysis.layers, profile, { outputs: new Set(analysis.outputs) });
        const predicted = sumMs(costs);
        const measured = measureModelMs(model, options.modelBudgetMs);
        rs.push({ predicted, measured });
        options.log?.(`round ${r + 1}/${rounds} ${t.name}: predicted ${predicted.toFixed(1)} ms, measured ${measured.toFixed(1)} ms (${pct(predicted, measured).toFixed(1)} %)`);
        if (r === 0) {
          const times = measureLayerMs(model, options.layerBudgetMs);
          costs.forEach((c) => {
            const m = times.get(c.name);
            if (m === undefined) return;
            layers.push({ model: t.name, layer: c.name, type: c.type, category: c.category, predictedMs: c.timeMs, measuredMs: m, errorPct: pct(c.timeMs, m) });
          });
        }
      }
      done.push({ name: t.name, analysis, rounds: rs });
    } finally {
      model.dispose();
    }
  }
  const models = done.map(({ name, analysis, rounds: rs }) => {
    const errors = rs.map((x) => pct(x.predicted, x.measured));
    return {
      model: name,
      input: analysis.inputShape.join('x'),
      layers: analysis.layers.length,
      predictedMs: median(rs.map((x) => x.predicted)),
      measuredMs: median(rs.map((x) => x.measured)),
      errorPct: median(errors),
      errorMinPct: Math.min(...errors),
      errorMaxPct: Math.max(...errors),
      rounds: rs.length,
    };
  });
  return { layers, models, profiles };
}

/** Median |error| and layer count per category. */
export function errorsByCategory(rows: HostLayerRow[]): Array<{ category: string; layers: number; medianAbsErrorPct: number; predictedMs: number; measuredMs: number }> {
  const groups = new Map<string, HostLayerRow[]>();
  for (const r of rows) groups.set(r.category, [...(groups.get(r.category) ?? []), r]);
  return [...groups.entries()]
    .map(([category, rs]) => ({
      category,
      layers: rs.length,
      medianAbsErrorPct: medianAbs(rs.map((r) => r.errorPct)),
      predictedMs: rs.reduce((a, r) => a + r.predictedMs, 0),
      measuredMs: rs.reduce((a, r) => a + r.measuredMs, 0),
    }))
    .sort((a, b) => b.measuredMs - a.measuredMs);
}

const f = (x: number, d = 1): string => x.toFixed(d);
const signedPct = (x: number): string => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(1)} %`;

/** Markdown tables of a host validation. */
export function hostMarkdown(result: { layers: HostLayerRow[]; models: HostModelRow[] }): string {
  const lines = [
    '| model | input | layers | predicted ms | measured ms | error (median of rounds) | error range over rounds |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const m of result.models) {
    lines.push(
      `| ${m.model} | ${m.input} | ${m.layers} | ${f(m.predictedMs)} | ${f(m.measuredMs)} | ${f(m.errorPct)} % | ` +
        `${f(m.errorMinPct)} .. ${f(m.errorMaxPct)} % (${m.rounds} rounds) |`,
    );
  }
  lines.push(`| **median abs** | | | | | **${f(medianAbs(result.models.map((m) => m.errorPct)))} %** | |`);
  lines.push('', '| layer category | layers | predicted ms (sum) | measured ms (sum) | median abs error per layer |', '|---|---|---|---|---|');
  for (const c of errorsByCategory(result.layers)) lines.push(`| ${c.category} | ${c.layers} | ${f(c.predictedMs)} | ${f(c.measuredMs)} | ${f(c.medianAbsErrorPct)} % |`);
  return lines.join('\n');
}

/** Markdown table of the published-measurement validation. */
export function publishedMarkdown(): string {
  const rows = validatePublished();
  const lines = [
    '| device | model | input | precision | runtime | published ms | predicted ms | error | role | source |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const runtime = r.runtime ?? defaultRuntime(loadProfile(r.device));
    lines.push(`| ${r.device} | ${r.model} | ${r.inputSize} | ${r.precision} | ${runtime} | ${f(r.measuredMs, 3)} | ${f(r.predictedMs, 3)} | ${signedPct(r.errorPct)} | ${r.role} | ${r.source} |`);
  }
  const held = rows.filter((r) => r.role === 'held-out');
  const gpu = rows.filter((r) => r.gpuCheck);
  const worst = (xs: ValidationRow[]): string => f(Math.max(...xs.map((r) => Math.abs(r.errorPct))));
  lines.push(
    '',
    `Median |error|: ${f(medianAbs(rows.map((r) => r.errorPct)))} % over all ${rows.length} points, ` +
      `${f(medianAbs(held.map((r) => r.errorPct)))} % over the ${held.length} held-out points; ` +
      `worst ${worst(rows)} %. Data-centre GPUs and Jetson AGX at FP16/INT8 (${gpu.length} held-out figures): ` +
      `median ${f(medianAbs(gpu.map((r) => r.errorPct)))} %, worst ${worst(gpu)} %.`,
  );
  return lines.join('\n');
}

/** The reference networks and input sizes the host validation runs (sized to finish in minutes here). */
export const HOST_REFERENCE_TARGETS: Array<{ model: string; size: number }> = [
  { model: 'resnet18', size: 224 },
  { model: 'resnet50', size: 224 },
  { model: 'mobilenetv2', size: 224 },
  { model: 'efficientnet-b0', size: 224 },
  { model: 'vgg16', size: 112 },
];

/** Every target: the reference networks above, then every zoo model under models/. */
export function defaultHostTargets(zooDir = ZOO_DIR, quick = false): HostTarget[] {
  const refs = quick ? HOST_REFERENCE_TARGETS.map((t) => ({ ...t, size: 64 })) : HOST_REFERENCE_TARGETS;
  const targets: HostTarget[] = refs.map((t) => ({
    name: `${t.model}@${t.size}`,
    build: () => buildReferenceModel(t.model, t.size),
  }));
  for (const name of listZooNames(zooDir)) targets.push({ name: `zoo:${name}`, build: () => loadZooLayersModel(name, zooDir) });
  return targets;
}

async function main(argv: string[]): Promise<void> {
  const arg = (flag: string): string | undefined => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const log = (m: string): void => void process.stderr.write(`${m}\n`);
  const backend = await initBackend();
  const profileArg = arg('--profile');
  const rounds = Number(arg('--rounds') ?? 3);
  const profileFor = async (r: number, target: string): Promise<HardwareProfile> => {
    if (profileArg) return loadProfile(profileArg);
    log(`round ${r + 1}, ${target}: calibrating this machine...`);
    return hostProfile(await runCalibration());
  };
  const only = arg('--only');
  let targets = defaultHostTargets(ZOO_DIR, argv.includes('--quick'));
  if (only) targets = targets.filter((t) => only.split(',').some((o) => t.name.startsWith(o)));
  const result = await validateHost(targets, profileFor, { rounds, log });
  const json = arg('--json');
  if (json) writeFileAtomic(path.resolve(json), JSON.stringify({ backend, rounds, ...result }, null, 2) + '\n');
  const md = [
    `## Host validation (backend ${backend}, ${result.profiles[0].description})`,
    '',
    hostMarkdown(result),
    '',
    '## Published batch-1 measurements',
    '',
    publishedMarkdown(),
    '',
  ].join('\n');
  process.stdout.write(md);
  if (!fs.existsSync(ZOO_DIR) || listZooNames().length === 0) log(`note: no zoo models under ${ZOO_DIR}; only reference networks were validated`);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((e) => {
    process.stderr.write(`validate-host: ${(e as Error).stack ?? e}\n`);
    process.exitCode = 1;
  });
}
