import * as fs from 'fs';
import * as path from 'path';
import type { CommandModule } from 'yargs';
import { toCsv } from '../report/csv';
import { formatTable } from '../report/table';
import { MEASUREMENT_COLUMNS } from '../measure/aggregate';
import { DEFAULT_ZOO_DIR, measureZoo, type MeasureResult } from '../measure/measure';
import { checkOutputDir, OutputSet } from '../util/atomic';
import { readZooMeta } from '../model/meta';
import { UserError } from '../util/errors';
import { SPLITSIM_VERSION } from '../util/version';

/** Options of `splitsim measure`. */
export interface MeasureArgs {
  samples?: number;
  seed?: number;
  models?: string;
  out?: string;
  workers?: number;
  cache?: boolean;
  zoo?: string;
  data?: string;
  progress?: boolean;
}

/** Student rows with the bytes the learned prior predicts (ours and PyTorch's). */
export function studentCheck(result: MeasureResult, zooDir: string): string[][] {
  const rows: string[][] = [];
  for (const p of result.pipelines) {
    if (p.ref.kind !== 'bottleneck') continue;
    const pytorch = readZooMeta(path.join(zooDir, p.ref.model)).bottleneck?.estimatedBytesPerImage ?? NaN;
    const real = p.row.bytes_mean;
    const est = p.row.bytes_estimated_mean;
    const ok = Math.abs(real - est) <= 0.02 * est + 4;
    rows.push([
      p.ref.model, (p.row.accuracy * 100).toFixed(2), real.toFixed(2), est.toFixed(2),
      Number.isFinite(pytorch) ? pytorch.toFixed(2) : '-', `${(((real - est) / est) * 100).toFixed(2)}%`, ok ? 'yes' : 'NO',
    ]);
  }
  return rows;
}

/** Runs `measure` and writes measurements.csv and measurements.json into the output folder. */
export async function runMeasure(args: MeasureArgs): Promise<{ result: MeasureResult; files: string[] }> {
  if (args.workers !== undefined && !(Number.isInteger(args.workers) && args.workers >= 1)) {
    throw new UserError(`--workers: expected a positive integer, got ${args.workers}`);
  }
  if (args.out !== undefined) checkOutputDir(args.out);
  const models = args.models?.split(',').map((s) => s.trim()).filter(Boolean);
  const zooDir = args.zoo ? path.resolve(args.zoo) : undefined;
  const result = await measureZoo({
    samples: args.samples,
    seed: args.seed,
    models,
    zooDir,
    dataDir: args.data ? path.resolve(args.data) : undefined,
    workers: args.workers,
    useCache: args.cache ?? true,
    progress: args.progress,
  });
  const outDir = path.resolve(args.out ?? path.join('results', 'measure'));
  const out = new OutputSet(outDir, 'measure');
  const csvFile = path.join(outDir, 'measurements.csv');
  out.add(csvFile, toCsv(result.pipelines.map((p) => ({ ...p.row })), [...MEASUREMENT_COLUMNS]));
  out.add(
    path.join(outDir, 'measurements.json'),
    JSON.stringify(
      {
        command: 'measure',
        splitsim_version: SPLITSIM_VERSION,
        node_version: process.version,
        backend: result.backend,
        seed: result.seed,
        samples: result.indices.length,
        sample_indices: result.indices.length < 10000 ? result.indices : 'all',
        models: result.models,
        dataset_hash: result.datasetHash,
        codec_costs: 'profiles/codecs/host.yaml (encode_ms_host, decode_ms_host)',
        pipelines: result.pipelines.length,
      },
      null,
      2,
    ) + '\n',
  );
  out.commit();
  return { result, files: out.paths() };
}

const command: CommandModule<object, MeasureArgs> = {
  command: 'measure',
  describe: 'Measure every pipeline of the model zoo (real bitstreams, tail accuracy, codec CPU time)',
  builder: (y) =>
    y
      .option('samples', { type: 'number', describe: 'measure a fixed seeded subset of N test images (default: all 10,000)' })
      .option('seed', { type: 'number', describe: 'seed of the subset draw (default 1)' })
      .option('models', { type: 'string', describe: 'comma-separated zoo models (default: all in models/index.json)' })
      .option('out', { type: 'string', describe: 'output folder (default results/measure)' })
      .option('workers', { type: 'number', describe: 'processes to run in parallel (default: 2 or the CPU count if smaller)' })
      .option('cache', { type: 'boolean', default: true, describe: 'use the measurement cache (.cache/measure); --no-cache re-measures' })
      .option('zoo', { type: 'string', describe: 'model zoo folder (default: the package models/)' })
      .option('data', { type: 'string', describe: 'Fashion-MNIST folder (default: the package data/)' })
      .option('progress', { type: 'boolean', describe: 'progress bar on stderr (default: on a terminal, or for long runs)' }),
  handler: async (args) => {
    const { result, files } = await runMeasure(args);
    const checks = studentCheck(result, args.zoo ? path.resolve(args.zoo) : DEFAULT_ZOO_DIR);
    process.stdout.write(
      `measured ${result.pipelines.length} pipelines on ${result.indices.length} samples ` +
        `(${result.timing.measured} run, ${result.timing.cached} from cache; ${result.timing.sampleRuns} pipeline-samples run now) in ${result.timing.wallS.toFixed(1)} s ` +
        `with ${result.timing.workers} worker(s), tfjs backend ${result.backend}\n`,
    );
    if (checks.length) {
      process.stdout.write('\nbottleneck students: coded bytes vs the learned prior\'s estimate (sum -log2 p / 8)\n');
      process.stdout.write(formatTable(['student', 'top-1 %', 'bytes', 'estimate', 'PyTorch est.', 'real-est', 'within 2%+4B'], checks) + '\n');
    }
    process.stdout.write(`\nwrote ${files.join(', ')}\n`);
  },
};

export default command;
