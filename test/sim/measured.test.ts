import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseScenario } from '../../src/config/scenario';
import { headLayers, predictLayers, sumMs } from '../../src/hardware/cost';
import { analyzeModelSpec } from '../../src/hardware/model-source';
import { loadProfile } from '../../src/hardware/profile';
import { measureZoo } from '../../src/measure/measure';
import { summarizeRun } from '../../src/report/summary';
import { resolvePipelines } from '../../src/sim/pipeline';
import { simulateScenario } from '../../src/sim/system';
import { UserError } from '../../src/util/errors';

// Measured pipelines run the committed zoo on a few test images; the cache goes to a
// private folder so this test measures for real and leaves the project's cache alone.
const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'splitsim-measured-'));
beforeAll(() => { process.env.SPLITSIM_CACHE_DIR = cacheDir; });
afterAll(() => { delete process.env.SPLITSIM_CACHE_DIR; fs.rmSync(cacheDir, { recursive: true, force: true }); });

const PIPELINE = 'student-b0.3/bottleneck/factorized';

function scenario(pipeline: string) {
  return parseScenario(
    {
      seed: 9,
      duration: { requests: 400 },
      devices: { count: 2, arrival: { type: 'poisson', ratePerS: 5 } },
      uplink: { type: 'constant', rateBps: 1e6, delayMs: 10 },
      downlink: { type: 'constant', rateBps: 1e6, delayMs: 10 },
      pipelines: [{ name: 'sc2', source: 'measured', pipeline, device: 'raspberry-pi-4', edge: 't4', samples: 40, codecTime: 'ignore' }],
    },
    'measured-test.yaml',
  );
}

describe('measured pipelines', () => {
  test('payload sizes come from the real bitstreams, compute from the profiles, accuracy from the tail', async () => {
    const s = scenario(PIPELINE);
    const [p] = await resolvePipelines(s, 'measured-test.yaml');
    const m = await measureZoo({ samples: 40, seed: 1, models: ['student-b0.3'], filter: (x) => x.kind === 'bottleneck' });
    const measured = m.pipelines.find((x) => x.name === PIPELINE)!;
    expect(measured.cached).toBe(true); // resolvePipelines measured it a moment ago
    const sizes = new Set(Array.from(measured.results.bytes));

    // Predicted head on the Pi and tail on the T4, independently recomputed here.
    const analysis = (await analyzeModelSpec('student-b0.3')).analysis;
    const split = (profile: string) => {
      const costs = predictLayers(analysis.layers, loadProfile(profile), { outputs: new Set(analysis.outputs), boundary: new Set(['bottleneck']) });
      const head = headLayers(analysis, 'bottleneck');
      return { head: sumMs(costs.filter((c) => head.has(c.name))), tail: sumMs(costs.filter((c) => !head.has(c.name))) };
    };
    const [run] = simulateScenario(s, [p]);
    const T = run.requests;
    for (let i = 0; i < T.count; i++) {
      expect(sizes.has(T.payloadBytes[i])).toBe(true);
      expect(T.deviceMs[i]).toBeCloseTo(split('raspberry-pi-4').head, 9);
      expect(T.edgeMs[i]).toBeCloseTo(split('t4').tail, 9);
    }
    const row = summarizeRun(run);
    expect(row.accuracy).toBeCloseTo(measured.row.accuracy, 12);
    expect(row.accuracy).toBeGreaterThan(0.5); // a trained student, not chance (0.1)
    expect(row.device_energy_mj).toBeCloseTo(split('raspberry-pi-4').head * loadProfile('raspberry-pi-4').power.activeW, 9);
    expect(row.meta_backend).toMatch(/^(tensorflow|wasm|cpu)$/);
  });

  test('an unknown measured pipeline is a user error that lists the real ones', async () => {
    const s = scenario('student-b0.3/bottleneck/rans');
    await expect(resolvePipelines(s, 'measured-test.yaml')).rejects.toThrow(UserError);
    await expect(resolvePipelines(s, 'measured-test.yaml')).rejects.toThrow(/student-b0.3\/bottleneck\/factorized/);
  });
});
