/**
 * `splitsim shape --scenario S --target URL`: the user-space link shaper (src/live/shaper.ts)
 * on its own, in front of a tail server: device d connects to the d-th printed port. Prints
 * one JSON line once it listens ({ports, urls}); reads JSON commands on stdin, one a line:
 * {"cmd":"origin","epochMs":T} sets the links' time 0 (before any traffic), {"cmd":"stats"}
 * prints the counters. SIGTERM or SIGINT print the counters and exit 0.
 */
import * as readline from 'readline';
import type { CommandModule } from 'yargs';
import { loadScenario } from '../config/scenario';
import { checkInt, parseTarget } from '../live/scenario';
import { LinkShaper } from '../live/shaper';

interface ShapeArgs {
  scenario: string;
  target: string;
  devices?: number;
  seed?: number;
  host: string;
  port: number;
}

const command: CommandModule<object, ShapeArgs> = {
  command: 'shape',
  describe: "user-space link shaper: a loopback proxy that delays each direction's real bytes as the scenario's links would",
  builder: (y) =>
    y
      .option('scenario', { type: 'string', demandOption: true, describe: 'scenario whose uplink and downlink to emulate' })
      .option('target', { type: 'string', demandOption: true, describe: 'URL of the tail server (splitsim serve)' })
      .option('devices', { type: 'number', describe: "devices, one port each (default: the scenario's devices.count)" })
      .option('seed', { type: 'number', describe: "overrides the scenario's seed (the links' random streams)" })
      .option('host', { type: 'string', default: '127.0.0.1', describe: 'address to bind' })
      .option('port', { type: 'number', default: 0, describe: 'first port (device d: port + d; 0: free ports)' }) as never,
  handler: async (args) => {
    checkInt(args.devices, '--devices', 1, 1024);
    checkInt(args.seed, '--seed', 0, 0xffffffff);
    checkInt(args.port, '--port', 0, 65535);
    const target = parseTarget(args.target, '--target');
    const { scenario } = loadScenario(args.scenario);
    const log = (m: string) => process.stderr.write(`splitsim shape: ${m}\n`);
    const sh = await LinkShaper.start({ scenario, target, seed: args.seed, devices: args.devices, host: args.host, log }, args.port);
    const out = (o: object) => process.stdout.write(JSON.stringify(o) + '\n');
    out({ ports: sh.ports, urls: sh.ports.map((p) => `http://${args.host}:${p}`), pid: process.pid });
    const rl = readline.createInterface({ input: process.stdin });
    rl.on('line', (line) => {
      if (line.trim() === '') return;
      try {
        const cmd = JSON.parse(line) as { cmd?: string; epochMs?: number };
        if (cmd.cmd === 'origin' && typeof cmd.epochMs === 'number' && Number.isFinite(cmd.epochMs)) {
          sh.setOrigin(cmd.epochMs);
          out({ ok: true });
        } else if (cmd.cmd === 'stats') out({ stats: sh.stats() });
        else out({ error: `unknown command ${line.trim()} (origin with epochMs, stats)` });
      } catch (e) {
        out({ error: (e as Error).message });
      }
    });
    await new Promise<void>((resolve) => {
      const stop = () => {
        rl.close();
        out({ stats: sh.stats() });
        void sh.close().then(resolve);
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });
  },
};

export default command;
