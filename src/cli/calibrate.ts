/**
 * `splitsim calibrate [--out FILE]`: measures this machine with tfjs micro-benchmarks and
 * writes a host hardware profile (profiles/host.yaml by default).
 */
import * as path from 'path';
import type { CommandModule } from 'yargs';
import { parseYaml, validate } from '../config/load';
import { CODEC_COSTS_FILE, codecCostsSchema } from '../codecs/cost';
import { calibrateCodecs, codecCostsYaml } from '../measure/codec-calibration';
import { hostProfile, hostProfileYaml, runCalibration } from '../hardware/calibrate';
import { PROFILES_DIR, profileSchema } from '../hardware/profile';
import { writeFileAtomic } from '../util/atomic';
import { UserError } from '../util/errors';

interface Args {
  out?: string;
  codecs?: boolean;
  hostSysbench?: number;
}

/** `calibrate --codecs`: fits the codec CPU-time models and writes profiles/codecs/host.yaml. */
async function calibrateCodecsCommand(args: Args): Promise<void> {
  const file = path.resolve(args.out!);
  if (!/\.ya?ml$/.test(file)) throw new UserError(`--out ${args.out}: a codec cost file must end in .yaml`);
  if (args.hostSysbench !== undefined && !(args.hostSysbench > 0)) throw new UserError(`--host-sysbench: expected a positive rate (events/s), got ${args.hostSysbench}`);
  const t0 = Date.now();
  const costs = await calibrateCodecs({ hostSysbench: args.hostSysbench, log: (m) => process.stderr.write(`  ${m}\n`) });
  const text = codecCostsYaml(costs);
  validate(codecCostsSchema, parseYaml(text, file), file);
  writeFileAtomic(file, text);
  process.stdout.write(`wrote ${file} (${Object.keys(costs.classes).length} cost classes, host sysbench ${costs.host.sysbenchEventsPerS} events/s, ${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
}

const command: CommandModule<object, Args> = {
  command: 'calibrate',
  describe: 'Measure this machine with tfjs micro-benchmarks and write a host hardware profile (--codecs: codec CPU-time models)',
  builder: (y) =>
    y
      .option('out', { type: 'string', describe: 'file to write (required; profiles/host.yaml, or profiles/codecs/host.yaml with --codecs, replaces the shipped one)' })
      .option('codecs', { type: 'boolean', default: false, describe: 'time every codec setting and fit the codec CPU-time models instead' })
      .option('host-sysbench', { type: 'number', describe: "this host's single-thread sysbench cpu rate, when sysbench is not installed" }) as never,
  handler: async (args) => {
    // The shipped profiles are committed data: replacing one must be asked for by name.
    if (args.out === undefined) {
      throw new UserError(`--out: required: the file to write (e.g. --out my-host.yaml; --out ${path.relative(process.cwd(), args.codecs ? CODEC_COSTS_FILE : path.join(PROFILES_DIR, 'host.yaml'))} replaces the shipped one)`);
    }
    if (args.codecs) return calibrateCodecsCommand(args);
    const file = path.resolve(args.out);
    if (!/\.ya?ml$/.test(file)) throw new UserError(`--out ${args.out}: a profile file must end in .yaml`);
    const name = path.basename(file).replace(/\.ya?ml$/, '');
    const result = await runCalibration((m) => process.stderr.write(`  ${m}\n`));
    const profile = validate(profileSchema, hostProfile(result, name), file);
    writeFileAtomic(file, hostProfileYaml(profile));
    process.stdout.write(
      `wrote ${file} (backend ${result.backend}, ${result.clock} clock, ${(result.durationMs / 1000).toFixed(1)} s): ` +
        `peak ${result.peakGflops} GFLOP/s, bandwidth ${result.bandwidthGBps} GB/s, ${(result.perLayerMs * 1000).toFixed(0)} us per layer\n`,
    );
  },
};

export default command;
