/**
 * `splitsim profile --model M --device D`: predicted time of every layer of a model on a
 * device, and the head and tail times at every candidate split point.
 */
import type { CommandModule } from 'yargs';
import { stringify } from 'csv-stringify/sync';
import * as path from 'path';
import type { Precision } from '../model/analysis';
import { initBackend } from '../model/backend';
import { predictModel, type ModelCost } from '../hardware/cost';
import { analyzeModelSpec } from '../hardware/model-source';
import { listRuntimes, loadProfile, withRuntime } from '../hardware/profile';
import { writeFileAtomic } from '../util/atomic';
import { UserError } from '../util/errors';
import { SPLITSIM_VERSION } from '../util/version';

interface Args {
  model: string;
  device: string;
  batch: number;
  precision?: Precision;
  runtime?: string;
  input?: number;
  csv?: string;
  json?: boolean;
}

const fmt = (x: number, digits = 3): string => (x === 0 ? '0' : x.toFixed(digits));
const si = (x: number): string =>
  x >= 1e9 ? `${(x / 1e9).toFixed(2)}G` : x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : x >= 1e3 ? `${(x / 1e3).toFixed(1)}k` : String(x);

/** The JSON document `profile --json` prints. */
export function profileJson(cost: ModelCost, meta: Record<string, unknown>): Record<string, unknown> {
  return {
    ...meta,
    model: cost.model,
    device: cost.device,
    runtime: cost.runtime,
    framework: cost.framework,
    precision: cost.precision,
    batch: cost.batch,
    totalMs: cost.totalMs,
    totalMacs: cost.totalMacs,
    totalParams: cost.totalParams,
    energyMj: cost.energyMj,
    layers: cost.layers.map((l) => ({
      name: l.name,
      type: l.type,
      category: l.category,
      macs: l.macs,
      params: l.params,
      outputBytes: l.outputBytes,
      timeMs: l.timeMs,
      computeMs: l.computeMs,
      memoryMs: l.memoryMs,
      overheadMs: l.overheadMs,
      utilisation: l.utilisation,
      bound: l.bound,
      ...(l.fusedInto ? { fusedInto: l.fusedInto } : {}),
    })),
    splitPoints: cost.splitPoints,
  };
}

/** CSV with one row per layer; split-point rows carry the head and tail times. */
export function profileCsv(cost: ModelCost, shapes: Map<string, number[]>): string {
  const splits = new Map(cost.splitPoints.map((s) => [s.layer, s]));
  let cumulative = 0;
  const rows = cost.layers.map((l) => {
    cumulative += l.timeMs;
    const s = splits.get(l.name);
    return [
      l.name, l.type, l.category, (shapes.get(l.name) ?? []).join('x'), l.macs, l.params, l.outputBytes,
      l.timeMs, cumulative, l.bound, s ? 1 : 0, s ? s.headMs : '', s ? s.tailMs : '',
    ];
  });
  return stringify(rows, {
    header: true,
    columns: ['name', 'type', 'category', 'outputShape', 'macs', 'params', 'outputBytes', 'timeMs', 'cumulativeMs', 'bound', 'splitPoint', 'headMs', 'tailMs'],
  });
}

function table(cost: ModelCost, shapes: Map<string, number[]>): string {
  const splits = new Map(cost.splitPoints.map((s) => [s.layer, s]));
  const header = ['layer', 'type', 'output', 'MACs', 'params', 'out bytes', 'time ms', 'bound', 'split: head ms', 'tail ms'];
  const rows = cost.layers.map((l) => {
    const s = splits.get(l.name);
    return [
      l.name, l.type, (shapes.get(l.name) ?? []).join('x'), si(l.macs), si(l.params), si(l.outputBytes),
      fmt(l.timeMs), l.fusedInto ? `fused>${l.fusedInto}` : l.bound, s ? fmt(s.headMs) : '', s ? fmt(s.tailMs) : '',
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (r: string[]): string => r.map((c, i) => (i < 3 || i === 7 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

const command: CommandModule<object, Args> = {
  command: 'profile',
  describe: 'Predict per-layer compute time of a model on a device and the head/tail time at every split point',
  builder: (y) =>
    y
      .option('model', { type: 'string', demandOption: true, describe: 'reference network (resnet18, resnet50, mobilenetv2, vgg16, efficientnet-b0), zoo model name, or path to a model.json' })
      .option('device', { type: 'string', demandOption: true, describe: 'profile name in profiles/ (e.g. jetson-nano) or path to a profile YAML' })
      .option('batch', { type: 'number', default: 1, describe: 'samples per inference (servers batch)' })
      .option('precision', { type: 'string', choices: ['fp32', 'fp16', 'int8'] as const, describe: "default: the profile's defaultPrecision" })
      .option('runtime', { type: 'string', describe: "the server's runtime, one the profile declares (e.g. h200: tensorrt, pytorch-cudagraph, pytorch-eager); default: the profile's runtime" })
      .option('input', { type: 'number', describe: 'square input size for reference networks (default 224)' })
      .option('csv', { type: 'string', describe: 'also write the per-layer table as CSV to this file' })
      .option('json', { type: 'boolean', default: false, describe: 'print JSON instead of the table' }) as never,
  handler: async (args) => {
    if (!Number.isInteger(args.batch) || args.batch < 1) throw new UserError(`--batch must be a positive integer (got ${args.batch})`);
    const profile = withRuntime(loadProfile(args.device), args.runtime);
    const backend = await initBackend();
    const source = await analyzeModelSpec(args.model, { inputSize: args.input, precision: args.precision ?? profile.defaultPrecision });
    const cost = predictModel(source.analysis, profile, { batch: args.batch, precision: args.precision });
    const shapes = new Map(source.analysis.layers.map((l) => [l.name, l.outputShape]));
    if (args.csv) writeFileAtomic(path.resolve(args.csv), profileCsv(cost, shapes));
    if (args.json) {
      const meta = { splitsimVersion: SPLITSIM_VERSION, backend, modelKind: source.kind, inputShape: source.analysis.inputShape, runtimes: listRuntimes(profile) };
      process.stdout.write(JSON.stringify(profileJson(cost, meta), null, 2) + '\n');
      return;
    }
    process.stdout.write(
      [
        `model ${cost.model} (${source.kind}, input ${source.analysis.inputShape.join('x')}, ${si(cost.totalMacs)} MACs, ${si(cost.totalParams)} params)`,
        `device ${cost.device}, runtime ${cost.runtime} (${listRuntimes(profile).join(' | ')}): ${cost.framework}; ${cost.precision}, batch ${cost.batch}`,
        '',
        table(cost, shapes),
        '',
        `total ${fmt(cost.totalMs)} ms, energy ${fmt(cost.energyMj, 1)} mJ at ${profile.power.activeW} W; ${cost.splitPoints.length} candidate split points`,
        '',
      ].join('\n'),
    );
  },
};

export default command;
