import * as path from 'path';
import type { CommandModule } from 'yargs';
import { defaultCacheDir } from '../measure/cache';
import { mergePartials, partialFiles, readPartial } from '../measure/shard';
import { checkOutputDir } from '../util/atomic';
import { UserError } from '../util/errors';
import { writeMeasurements } from './measure';

/** Options of `splitsim merge`. */
export interface MergeArgs {
  partials?: string[];
  out?: string;
  cache?: boolean;
}

/**
 * Runs `merge`: reads the partial files (or the folders holding them) of one sharded
 * measurement, checks them and writes the measurements.csv and measurements.json the
 * unsharded run writes; nothing is written when a partial is missing, repeated or foreign.
 */
export function runMerge(args: MergeArgs): { files: string[]; shards: number; pipelines: number; samples: number } {
  const given = args.partials ?? [];
  if (given.length === 0) throw new UserError("merge: name the partial files (measurements.shard-I-of-N.json) or the folder holding them, e.g. 'splitsim merge partials/'");
  if (args.out !== undefined) checkOutputDir(args.out);
  const partials = partialFiles(given).map(readPartial);
  const result = mergePartials(partials, { cacheDir: args.cache === false ? undefined : defaultCacheDir() });
  const outDir = path.resolve(args.out ?? path.join('results', 'measure'));
  return { files: writeMeasurements(result, outDir), shards: partials.length, pipelines: result.pipelines.length, samples: result.indices.length };
}

const command: CommandModule<object, MergeArgs> = {
  command: 'merge [partials..]',
  describe: "Merge the partial files of 'measure --shard I/N' into the files one unsharded measurement writes",
  builder: (y) =>
    y
      .positional('partials', { type: 'string', array: true, describe: 'partial files, or folders holding them' })
      .option('out', { type: 'string', describe: 'output folder (default results/measure)' })
      .option('cache', { type: 'boolean', default: true, describe: 'store the merged pipelines in the measurement cache (.cache/measure), as an unsharded run does' }) as never,
  handler: (args) => {
    const r = runMerge(args);
    process.stdout.write(`merged ${r.shards} shard(s): ${r.pipelines} pipelines on ${r.samples} samples\nwrote ${r.files.join(', ')}\n`);
  },
};

export default command;
