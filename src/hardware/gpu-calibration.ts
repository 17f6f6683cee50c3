/**
 * The H200 PyTorch calibration: measured whole-model batch curves (../shared/calibration/
 * h200-pytorch/batch_curve.csv, read at run time and never committed), the fit of the GPU
 * kernel-model parameters of profiles/h200.yaml to them, and the validation tables of
 * README "GPU calibration": every point predicted vs measured and marked calibration or
 * held-out, batching gains, and leave-one-model-out fits (fit on one network, predict the
 * other).
 *
 *   npm run -s build && node dist/src/hardware/gpu-calibration.js [--fit] [--json FILE]
 *
 * prints the tables; --fit also refits the shipped parameters from scratch and prints the
 * values to put in the profile.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { ModelAnalysis, Precision } from '../model/analysis';
import { analyzeReference } from '../model/reference';
import { UserError } from '../util/errors';
import { PACKAGE_ROOT } from '../util/version';
import { predictLayers, sumMs } from './cost';
import { loadProfile, type HardwareProfile } from './profile';
import { medianAbs } from './published';

/** Where the calibration measurements live: ../shared beside the project root. */
export const CALIBRATION_DIR = path.join(PACKAGE_ROOT, '..', 'shared', 'calibration', 'h200-pytorch');

/** One measured whole-model latency. */
export interface CurvePoint {
  model: string;
  inputSize: number;
  batch: number;
  precision: Precision;
  /** 'eager' or 'cudagraph' as in the CSV; the runtime is `pytorch-<mode>`. */
  mode: string;
  measuredMs: number;
}

/** Reads batch_curve.csv; a missing folder or a malformed row is a UserError naming the file. */
export function readBatchCurve(dir = CALIBRATION_DIR): CurvePoint[] {
  const file = path.join(dir, 'batch_curve.csv');
  if (!fs.existsSync(file)) throw new UserError(`${file}: calibration data not found (expected ../shared/calibration/h200-pytorch beside the project)`);
  const [header, ...lines] = fs.readFileSync(file, 'utf8').trim().split(/\r?\n/);
  const cols = header.split(',');
  const need = ['model', 'res', 'batch', 'dtype', 'mode', 'median_us'];
  for (const c of need) if (!cols.includes(c)) throw new UserError(`${file}: header lacks column '${c}'`);
  const at = (row: string[], c: string): string => row[cols.indexOf(c)];
  return lines.map((line, i) => {
    const row = line.split(',');
    const point = {
      model: at(row, 'model'),
      inputSize: Number(at(row, 'res')),
      batch: Number(at(row, 'batch')),
      precision: at(row, 'dtype') as Precision,
      mode: at(row, 'mode'),
      measuredMs: Number(at(row, 'median_us')) / 1000,
    };
    if (!(point.measuredMs > 0) || !(point.batch >= 1) || !['fp32', 'fp16'].includes(point.precision)) {
      throw new UserError(`${file}:${i + 2}: cannot read this row`);
    }
    return point;
  });
}

/** True when the calibration data is beside the project (tests skip without it). */
export const hasCalibrationData = (dir = CALIBRATION_DIR): boolean => fs.existsSync(path.join(dir, 'batch_curve.csv'));

const analyses = new Map<string, ModelAnalysis>();
function analysisOf(model: string, size: number, precision: Precision): ModelAnalysis {
  const key = `${model}@${size}/${precision}`;
  let a = analyses.get(key);
  if (!a) analyses.set(key, (a = analyzeReference(model, size, precision)));
  return a;
}

/** The runtime a calibration mode measures. */
export const runtimeOf = (mode: string): string => `pytorch-${mode}`;

/** Predicted whole-model time of a point on a profile. */
export function predictPoint(profile: HardwareProfile, p: CurvePoint): number {
  const a = analysisOf(p.model, p.inputSize, p.precision);
  return sumMs(predictLayers(a.layers, profile, { batch: p.batch, precision: p.precision, runtime: runtimeOf(p.mode), outputs: new Set(a.outputs) }));
}

/** A fitted number of a profile, addressed by its path (e.g. overhead.minKernelMs). */
export type ParamPath = string;

/** The kernel-model parameters fitted on the CUDA-graph curves, in the order they are fitted. */
export const CUDAGRAPH_PARAMS: ParamPath[] = [
  'utilisation.outputsPerSm',
  'overhead.perLayerMs',
  'overhead.minKernelMs',
  'overhead.perInferenceMs',
  'memory.efficiency',
  'compute.tf32.efficiency.conv',
  'compute.tf32.efficiency.conv3x3',
  'compute.fp16.efficiency.conv',
  'compute.fp16.efficiency.conv3x3',
];

/** The one parameter the eager curves add: host CPU time per kernel launch. */
export const EAGER_PARAMS: ParamPath[] = ['runtimes.pytorch-eager.overhead.dispatchMs'];

/**
 * Upper bounds the fit respects: no fraction of a datasheet peak or of the bandwidth above
 * 1, except 3x3 convolutions, whose Winograd kernels do fewer multiplies than their MACs.
 */
const upper = (p: ParamPath): number => (p.endsWith('conv3x3') ? 4 : p.includes('efficiency') ? 1 : Infinity);

/** Reads a parameter. */
export function getParam(profile: HardwareProfile, p: ParamPath): number {
  let x: unknown = profile;
  for (const k of p.split('.')) x = (x as Record<string, unknown>)?.[k];
  if (typeof x !== 'number') throw new Error(`profile ${profile.name} has no number at ${p}`);
  return x;
}

/** A copy of the profile with some parameters changed (the original is untouched). */
export function withParams(profile: HardwareProfile, values: Record<ParamPath, number>): HardwareProfile {
  const copy = structuredClone(profile);
  for (const [p, v] of Object.entries(values)) {
    const keys = p.split('.');
    let x = copy as unknown as Record<string, unknown>;
    for (const k of keys.slice(0, -1)) x = (x[k] ??= {}) as Record<string, unknown>;
    x[keys[keys.length - 1]] = v;
  }
  return copy;
}

/** Log errors ln(predicted / measured) of points. */
export const logErrors = (profile: HardwareProfile, points: CurvePoint[]): number[] =>
  points.map((p) => Math.log(predictPoint(profile, p) / p.measuredMs));

/** The fit's loss: the sum of squared log errors. */
export const loss = (profile: HardwareProfile, points: CurvePoint[]): number => logErrors(profile, points).reduce((a, e) => a + e * e, 0);

/**
 * Least squares in log error by coordinate descent: each parameter in turn is scaled by
 * the factor that lowers the loss most, until no step helps (deterministic).
 */
export function fitParams(profile: HardwareProfile, points: CurvePoint[], params: ParamPath[], rounds = 30): Record<ParamPath, number> {
  const values: Record<ParamPath, number> = Object.fromEntries(params.map((p) => [p, getParam(profile, p)]));
  let best = loss(withParams(profile, values), points);
  const steps = [0.1, 0.3, 0.5, 0.7, 0.85, 0.95, 0.99, 1.01, 1.05, 1.18, 1.4, 2, 3, 10];
  for (let r = 0; r < rounds; r++) {
    let improved = false;
    for (const p of params) {
      const v = values[p];
      let bestV = v;
      if (v <= 0) throw new Error(`cannot fit ${p} from ${v}: start it at a positive value`);
      for (const f of steps) {
        const nv = v * f;
        if (nv > upper(p)) continue;
        const l = loss(withParams(profile, { ...values, [p]: nv }), points);
        if (l < best - 1e-12) {
          best = l;
          bestV = nv;
        }
      }
      if (bestV !== v) improved = true;
      values[p] = bestV;
    }
    if (!improved) break;
  }
  return values;
}

/** One row of a validation table. */
export interface CurveRow extends CurvePoint {
  runtime: string;
  predictedMs: number;
  errorPct: number;
  role: 'calibration' | 'held-out';
}

/** Predicts points and marks them with a role. */
export function curveRows(profile: HardwareProfile, points: CurvePoint[], role: CurveRow['role']): CurveRow[] {
  return points.map((p) => {
    const predictedMs = predictPoint(profile, p);
    return { ...p, runtime: runtimeOf(p.mode), predictedMs, errorPct: (predictedMs / p.measuredMs - 1) * 100, role };
  });
}

/** Time at batch `hi` over time at batch 1, predicted vs measured, per model and precision. */
export interface GainRow {
  model: string;
  precision: Precision;
  runtime: string;
  measured: number;
  predicted: number;
  errorPct: number;
}

/** Batching gains (batch hi / batch 1) from rows that hold both batches. */
export function batchingGains(rows: CurveRow[], hi = 64): GainRow[] {
  const out: GainRow[] = [];
  for (const one of rows.filter((r) => r.batch === 1)) {
    const top = rows.find((r) => r.batch === hi && r.model === one.model && r.precision === one.precision && r.mode === one.mode);
    if (!top) continue;
    const measured = top.measuredMs / one.measuredMs;
    const predicted = top.predictedMs / one.predictedMs;
    out.push({ model: one.model, precision: one.precision, runtime: one.runtime, measured, predicted, errorPct: (predicted / measured - 1) * 100 });
  }
  return out;
}

/** Median and worst |error| of rows. */
export function summary(errors: number[]): { medianAbsPct: number; worstAbsPct: number; n: number } {
  return { medianAbsPct: medianAbs(errors), worstAbsPct: Math.max(...errors.map(Math.abs)), n: errors.length };
}

/** One CSV line split on commas outside double quotes (the shapes in layer_timing.csv are quoted). */
function csvFields(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (const ch of line) {
    if (ch === '"') quoted = !quoted;
    else if (ch === ',' && !quoted) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

/** Measured and predicted time of one module type of one network, summed over its layers. */
export interface LayerTypeRow {
  model: string;
  batch: number;
  precision: Precision;
  type: string;
  layers: number;
  measuredMs: number;
  predictedMs: number;
  errorPct: number;
}

/** PyTorch module type of each tfjs layer class whose modules run once per forward. */
const MODULE_OF: Record<string, string> = { Conv2D: 'Conv2d', BatchNormalization: 'BatchNorm2d', MaxPooling2D: 'MaxPool2d', Dense: 'Linear' };

/**
 * layer_timing.csv as a held-out check (not used in the fit): every leaf module timed on its
 * own in eager mode, so one call costs the eager runtime's host dispatch plus its kernel.
 * Compared per module type, summed over a network, for the types whose modules run once per
 * forward (torchvision reuses one ReLU module per block, and adds are not modules). A conv
 * is predicted without the activation the tfjs reference writes inside it (its own module).
 */
export function layerTypeRows(profile: HardwareProfile, dir = CALIBRATION_DIR): LayerTypeRow[] {
  const file = path.join(dir, 'layer_timing.csv');
  if (!fs.existsSync(file)) throw new UserError(`${file}: calibration data not found`);
  const [header, ...lines] = fs.readFileSync(file, 'utf8').trim().split(/\r?\n/).map(csvFields);
  const col = (c: string): number => header.indexOf(c);
  const isolated = structuredClone(profile);
  isolated.runtimes!['pytorch-cudagraph'].fusion = { ...isolated.runtimes!['pytorch-cudagraph'].fusion, inlineActivation: true };
  const dispatchMs = getParam(profile, EAGER_PARAMS[0]);
  const groups = new Map<string, string[][]>();
  for (const r of lines) {
    const key = [r[col('model')], r[col('batch')], r[col('dtype')]].join('/');
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const out: LayerTypeRow[] = [];
  for (const [key, rows] of groups) {
    const [model, b, precision] = key.split('/') as [string, string, Precision];
    const batch = Number(b);
    const a = analysisOf(model, 224, precision);
    const costs = predictLayers(a.layers, isolated, { batch, precision, runtime: 'pytorch-cudagraph', outputs: new Set(a.outputs) });
    for (const type of [...new Set(Object.values(MODULE_OF))]) {
      const measured = rows.filter((r) => r[col('type')] === type);
      const predicted = costs.filter((c) => MODULE_OF[c.type] === type);
      if (measured.length === 0) continue;
      const measuredMs = measured.reduce((x, r) => x + Number(r[col('median_us')]) / 1000, 0);
      const predictedMs = predicted.reduce((x, c) => x + c.timeMs + dispatchMs, 0);
      out.push({ model, batch, precision, type, layers: measured.length, measuredMs, predictedMs, errorPct: (predictedMs / measuredMs - 1) * 100 });
    }
  }
  return out;
}

/** Networks the calibration data does not hold: predicted only (no H200 measurement exists). */
export const UNMEASURED_MODELS = ['resnet50', 'mobilenetv2', 'efficientnet-b0'];

/** A prediction without a measurement: one network, precision and runtime at batch 1, 8 and 64. */
export interface UnmeasuredRow {
  model: string;
  precision: Precision;
  runtime: string;
  ms: Record<number, number>;
}

/** H200 predictions for the networks outside the calibration data. */
export function unmeasuredRows(profile: HardwareProfile, models = UNMEASURED_MODELS): UnmeasuredRow[] {
  const rows: UnmeasuredRow[] = [];
  for (const model of models) {
    for (const precision of ['fp32', 'fp16'] as Precision[]) {
      for (const mode of ['cudagraph', 'eager']) {
        const ms: Record<number, number> = {};
        for (const batch of [1, 8, 64]) ms[batch] = predictPoint(profile, { model, inputSize: 224, batch, precision, mode, measuredMs: NaN });
        rows.push({ model, precision, runtime: runtimeOf(mode), ms });
      }
    }
  }
  return rows;
}

/** Everything README reports, from the shipped profile (and, for held-out rows, refits). */
export interface CalibrationReport {
  cudagraph: CurveRow[];
  eager: CurveRow[];
  gains: GainRow[];
  heldOutByModel: CurveRow[];
  heldOutGains: GainRow[];
  heldOutFits: Record<string, Record<ParamPath, number>>;
  unmeasured: UnmeasuredRow[];
  layerTypes: LayerTypeRow[];
}

/**
 * The validation of the shipped H200 profile against the curves, plus leave-one-model-out:
 * for each calibration network, refit the CUDA-graph parameters on the others only and
 * predict it.
 */
export function calibrationReport(profile = loadProfile('h200'), points = readBatchCurve(), dir = CALIBRATION_DIR): CalibrationReport {
  const graph = points.filter((p) => p.mode === 'cudagraph');
  const eager = points.filter((p) => p.mode === 'eager');
  const cudagraph = curveRows(profile, graph, 'calibration');
  const heldOutByModel: CurveRow[] = [];
  const heldOutFits: CalibrationReport['heldOutFits'] = {};
  for (const model of [...new Set(graph.map((p) => p.model))]) {
    const others = graph.filter((p) => p.model !== model);
    if (others.length === 0) continue;
    const fit = fitParams(profile, others, CUDAGRAPH_PARAMS);
    heldOutFits[model] = fit;
    heldOutByModel.push(...curveRows(withParams(profile, fit), graph.filter((p) => p.model === model), 'held-out'));
  }
  return {
    cudagraph,
    eager: curveRows(profile, eager, 'calibration'),
    gains: batchingGains(cudagraph),
    heldOutByModel,
    heldOutGains: batchingGains(heldOutByModel),
    heldOutFits,
    unmeasured: unmeasuredRows(profile),
    layerTypes: layerTypeRows(profile, dir),
  };
}

const fmt = (x: number, d = 3): string => x.toFixed(d);
const sgn = (x: number): string => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(1)} %`;

/** Markdown table of curve rows. */
export function curveTable(rows: CurveRow[]): string {
  const head = '| model | precision | runtime | batch | measured ms | predicted ms | error | role |\n|---|---|---|---|---|---|---|---|';
  return [head, ...rows.map((r) => `| ${r.model} | ${r.precision} | ${r.runtime} | ${r.batch} | ${fmt(r.measuredMs)} | ${fmt(r.predictedMs)} | ${sgn(r.errorPct)} | ${r.role} |`)].join('\n');
}

/** Markdown table of batching gains. */
export function gainTable(rows: GainRow[], role: string): string {
  const head = '| model | precision | runtime | measured gain (t64/t1) | predicted | error | role |\n|---|---|---|---|---|---|---|';
  return [head, ...rows.map((r) => `| ${r.model} | ${r.precision} | ${r.runtime} | ${fmt(r.measured, 2)} | ${fmt(r.predicted, 2)} | ${sgn(r.errorPct)} | ${role} |`)].join('\n');
}

const line = (what: string, errors: number[]): string => {
  const s = summary(errors);
  return `${what}: median |error| ${s.medianAbsPct.toFixed(1)} %, worst ${s.worstAbsPct.toFixed(1)} % (${s.n} points)`;
};

/** A curve table, its summary lines (the acceptance batches too, when asked) and its gains. */
function curveSection(rows: CurveRow[], what: string, acceptance: boolean, gains?: GainRow[]): string[] {
  const role = rows[0]?.role ?? 'calibration';
  const out = [curveTable(rows), ''];
  if (acceptance) out.push(line(`${what}, batch 1, 8, 64 (${role})`, rows.filter((x) => [1, 8, 64].includes(x.batch)).map((x) => x.errorPct)));
  out.push(line(`${what}, all batches (${role})`, rows.map((x) => x.errorPct)));
  if (gains) out.push('', gainTable(gains, role));
  return [...out, ''];
}

/** The README section's tables and summary lines. */
export function reportMarkdown(r: CalibrationReport): string {
  return [
    ...curveSection(r.cudagraph, 'pytorch-cudagraph', true, r.gains),
    ...curveSection(r.heldOutByModel, 'leave-one-model-out', true, r.heldOutGains),
    ...curveSection(r.eager, 'pytorch-eager', false),
    '| model (no H200 measurement) | precision | runtime | batch 1 ms | batch 8 ms | batch 64 ms | gain t64/t1 |',
    '|---|---|---|---|---|---|---|',
    ...r.unmeasured.map((u) => `| ${u.model} | ${u.precision} | ${u.runtime} | ${fmt(u.ms[1])} | ${fmt(u.ms[8])} | ${fmt(u.ms[64])} | ${fmt(u.ms[64] / u.ms[1], 2)} |`),
    '',
    '| model | batch | precision | module type | layers | measured ms (sum) | predicted ms (sum) | error | role |',
    '|---|---|---|---|---|---|---|---|---|',
    ...r.layerTypes.map((t) => `| ${t.model} | ${t.batch} | ${t.precision} | ${t.type} | ${t.layers} | ${fmt(t.measuredMs)} | ${fmt(t.predictedMs)} | ${sgn(t.errorPct)} | held-out |`),
    '',
    line('per module type, isolated eager calls (held-out)', r.layerTypes.map((t) => t.errorPct)),
  ].join('\n');
}

async function main(argv: string[]): Promise<void> {
  const profile = loadProfile('h200');
  const points = readBatchCurve();
  if (argv.includes('--fit')) {
    const graph = points.filter((p) => p.mode === 'cudagraph');
    const fit = fitParams(profile, graph, CUDAGRAPH_PARAMS);
    const refit = withParams(profile, fit);
    const eagerFit = fitParams(refit, points.filter((p) => p.mode === 'eager'), EAGER_PARAMS);
    process.stdout.write(`refit from the shipped values (loss ${loss(profile, graph).toFixed(5)} -> ${loss(refit, graph).toFixed(5)}):\n`);
    for (const [p, v] of Object.entries({ ...fit, ...eagerFit })) process.stdout.write(`  ${p}: ${v.toPrecision(4)}\n`);
  }
  const report = calibrationReport(profile, points);
  process.stdout.write(reportMarkdown(report) + '\n');
  const i = argv.indexOf('--json');
  if (i >= 0 && argv[i + 1]) fs.writeFileSync(argv[i + 1], JSON.stringify(report, null, 2) + '\n');
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((e) => {
    process.stderr.write(`${e instanceof UserError ? '' : 'internal error: '}${(e as Error).message}\n`);
    process.exitCode = e instanceof UserError ? 2 : 1;
  });
}
