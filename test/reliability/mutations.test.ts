import fc from 'fast-check';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { stringify } from 'yaml';
import { runSimulate } from '../../src/cli/simulate';
import { UserError } from '../../src/util/errors';

/**
 * Random mutations of a valid scenario (a field set to an extreme or wrong-typed value,
 * removed, or an unknown one added) never give anything but a result or a UserError (exit 2),
 * and never take long.
 */
const BASE = {
  name: 'mut',
  seed: 1,
  duration: { requests: 40 },
  warmup: { requests: 2 },
  devices: { count: 2, arrival: { type: 'periodic', fps: 5, jitterMs: 1 } },
  uplink: { type: 'markov', states: [{ rateBps: 1e6, meanSojournMs: 500 }, { rateBps: 2e5, meanSojournMs: 300 }], delayMs: 10, jitterMs: 2, loss: { model: 'bernoulli', p: 0.05 }, delivery: { mode: 'tcp' } },
  downlink: { type: 'constant', rateBps: 5e6, delayMs: 10, queue: { limitPackets: 10 }, delivery: { mode: 'arq', rtoMs: 50, maxRetries: 3 } },
  edge: { workers: 2 },
  deadlineMs: 300,
  pipelines: [
    { name: 'a', deviceMs: { type: 'normal', mean: 5, std: 1 }, payloadBytes: [1000, 5000], edgeMs: { type: 'exponential', mean: 3 }, resultBytes: 10 },
    { name: 'b', local: true, deviceMs: 20 },
  ],
};

/** Every path to a leaf or object in the base scenario. */
function paths(v: unknown, prefix: Array<string | number> = []): Array<Array<string | number>> {
  const out: Array<Array<string | number>> = [prefix];
  if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...prefix, Array.isArray(v) ? Number(k) : k]));
  return out;
}
const ALL = paths(BASE).filter((p) => p.length > 0);
const NASTY: unknown[] = [-1, 0, 1e-300, 1e308, -1e308, 'NaN', 'x', null, [], {}, true, 2 ** 53, 0.5, 1e9, [1e15], { type: 'uniform', min: 5, max: 1 }];

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'splitsim-mut-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('random scenario mutations: a result or exit 2, never an internal error or a hang', async () => {
  let k = 0;
  await fc.assert(fc.asyncProperty(
    fc.integer({ min: 0, max: ALL.length - 1 }), fc.integer({ min: 0, max: NASTY.length + 1 }),
    async (pi, vi) => {
      const s = JSON.parse(JSON.stringify(BASE));
      const p = ALL[pi];
      let o = s;
      for (const key of p.slice(0, -1)) o = o[key];
      const last = p[p.length - 1];
      if (vi === NASTY.length) delete o[last];
      else if (vi === NASTY.length + 1) o[`${String(last)}Typo`] = 1;
      else o[last] = NASTY[vi];
      const file = path.join(tmp, `m${k++}.yaml`);
      fs.writeFileSync(file, stringify(s));
      const t0 = Date.now();
      try {
        await runSimulate({ scenario: file, out: path.join(tmp, `o${k}`), quiet: true });
      } catch (e) {
        if (!(e instanceof UserError)) throw new Error(`${p.join('.')} = ${JSON.stringify(NASTY[vi])}: not a UserError: ${(e as Error).stack}`);
      }
      expect(Date.now() - t0).toBeLessThan(20000);
    }), { numRuns: 120, seed: 16 });
}, 300000);
