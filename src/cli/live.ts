/**
 * `splitsim live --scenario S`: server, link shaper and devices on this machine (loopback,
 * free ports), the scenario's pipelines run for real, measured against `simulate`'s
 * prediction → results/<scenario>/live.csv (src/live/live.ts).
 */
import * as path from 'path';
import type { CommandModule } from 'yargs';
import { runLive, type LiveArgs } from '../live/live';

/** The flags live and device share. */
export function liveOptions<T>(y: import('yargs').Argv<T>) {
  return y
    .option('scenario', { type: 'string', demandOption: true, describe: 'scenario name in scenarios/ or a path to a YAML file' })
    .option('pipeline', { type: 'string', array: true, describe: "run only these pipelines (repeatable; default: the scenario's offloading pipelines)" })
    .option('requests', { type: 'number', describe: "play this many requests (overrides the scenario's duration)" })
    .option('seed', { type: 'number', describe: "overrides the scenario's seed" })
    .option('devices', { type: 'number', describe: "overrides the scenario's devices.count (the load)" })
    .option('cpu-share', { type: 'number', describe: "overrides the scenario's edge.cpuShare (the share of a core each server worker gets)" })
    .option('samples', { type: 'number', describe: "test samples measured (overrides the scenario's samples)" })
    .option('device-profile', { type: 'string', describe: 'profile the prediction puts on the devices (default: host, this machine)' })
    .option('edge-profile', { type: 'string', describe: 'profile the prediction puts on the server (default: host)' })
    .option('calibrate', { type: 'boolean', default: false, describe: 'calibrate this machine now and predict with that profile on both sides' })
    .option('runtime', { type: 'string', describe: 'model runtime of devices, server and the prediction\'s measurement: tfjs or onnxruntime (default: SPLITSIM_RUNTIME, else tfjs)' })
    .option('out', { type: 'string', describe: 'output folder (default: results/<scenario name>)' });
}

const command: CommandModule<object, LiveArgs> = {
  command: 'live',
  describe: 'run the scenario for real (tail server, link shaper, devices on loopback) and compare with the simulator → live.csv',
  builder: (y) => liveOptions(y) as never,
  handler: async (args) => {
    const res = await runLive(args, (m) => process.stderr.write(`splitsim live: ${m}\n`));
    const shown = res.files.map((f) => path.relative(process.cwd(), f) || f);
    process.stdout.write(`${res.table}\n\nwrote ${shown.join(', ')}\n`);
  },
};

export default command;
