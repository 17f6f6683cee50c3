/**
 * `splitsim calibrate [--out FILE]`: measures this machine with tfjs micro-benchmarks and
 * writes a host hardware profile (profiles/host.yaml by default).
 */
import * as path from 'path';
import type { CommandModule } from 'yargs';
import { validate } from '../config/load';
import { hostProfile, hostProfileYaml, runCalibration } from '../hardware/calibrate';
import { PROFILES_DIR, profileSchema } from '../hardware/profile';
import { writeFileAtomic } from '../util/atomic';
import { UserError } from '../util/errors';

interface Args {
  out?: string;
}

const command: CommandModule<object, Args> = {
  command: 'calibrate',
  describe: 'Measure this machine with tfjs micro-benchmarks and write a host hardware profile',
  builder: (y) =>
    y.option('out', { type: 'string', describe: 'profile file to write (default profiles/host.yaml); its name is the file name' }) as never,
  handler: async (args) => {
    const file = path.resolve(args.out ?? path.join(PROFILES_DIR, 'host.yaml'));
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
