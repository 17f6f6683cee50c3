/**
 * `splitsim device --scenario S --server URL`: the head client of live runs on its own
 * (src/live/live.ts runDevice): plays the scenario's devices against a running `splitsim
 * serve` (or a shaper in front of it; one --server per device, repeated round-robin), writes
 * requests.csv in simulate's columns and live.csv against the prediction.
 */
import * as path from 'path';
import type { CommandModule } from 'yargs';
import { runDevice, type DeviceArgs } from '../live/live';
import { liveOptions } from './live';

const command: CommandModule<object, DeviceArgs> = {
  command: 'device',
  describe: "live head client: plays the scenario's devices (arrivals, head, encoder, real test images) against a splitsim server → requests.csv",
  builder: (y) =>
    liveOptions(y).option('server', { type: 'string', array: true, demandOption: true, describe: 'server URL (repeat: device d uses the (d mod n)-th)' }) as never,
  handler: async (args) => {
    const res = await runDevice(args, (m) => process.stderr.write(`splitsim device: ${m}\n`));
    const shown = res.files.map((f) => path.relative(process.cwd(), f) || f);
    process.stdout.write(`${res.table}\n\nwrote ${shown.join(', ')}\n`);
  },
};

export default command;
