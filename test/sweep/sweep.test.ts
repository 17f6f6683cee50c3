import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runSweep } from '../../src/cli/sweep';
import { markovMeanRateBps } from '../../src/network/server';
import { buildSweep, readScenarioData } from '../../src/sweep/axes';
import { scenarioFields } from '../../src/sweep/fields';
import { CROSSOVER_BPS, NOISY, TWO_PIPELINES, writeScenario } from './scenarios';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'splitsim-sweep-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

describe('sweep regimes', () => {
  test('two pipelines, one with fewer bytes and more device time: the crossover is found within one step of the hand-computed rate', async () => {
    const f = writeScenario(work, 'two.yaml', TWO_PIPELINES);
    const res = await runSweep({ scenario: f, vary: ['uplink.rateBps=1e5..1e7'], steps: 9, log: true, out: path.join(work, 'two') });
    const values = res.axes[0].values as number[];
    expect(values[0]).toBe(1e5);
    expect(values[8]).toBe(1e7);
    expect(values[1] / values[0]).toBeCloseTo(10 ** 0.25, 9);
    const latency = res.analysis.findings.find((x) => x.view.objective === 'latency' && x.view.set === 'all')!;
    expect(latency.regimes!.best).toEqual(values.map((v) => (v < CROSSOVER_BPS ? 'small' : 'big')));
    expect(latency.crossovers).toHaveLength(1);
    const c = latency.crossovers![0];
    expect([c.from, c.to, c.basis]).toEqual(['small', 'big', 'objective']);
    // The step it falls in holds the hand-computed crossover, and the interpolation is close.
    expect(values[c.step]).toBeLessThan(CROSSOVER_BPS);
    expect(values[c.step + 1]).toBeGreaterThan(CROSSOVER_BPS);
    expect(Math.abs(c.value! / CROSSOVER_BPS - 1)).toBeLessThan(0.03);
    expect(latency.line).toMatch(/^below 5\d\d kbit\/s `small` wins; above 5\d\d kbit\/s `big`$/);
    // The simulated latencies are the hand sums: device + uplink airtime + delays + edge + reply.
    for (const r of res.rows) {
      const rate = r['uplink.rateBps' as keyof typeof r] as number;
      const [dev, wire] = r.pipeline === 'small' ? [20, 228] : [2, 1428];
      expect(r.e2e_mean_ms as number).toBeCloseTo(dev + (wire * 8 * 1000) / rate + 10 + 1 + ((8 + 28) * 8 * 1000) / 1e7 + 10, 6);
    }
    // No energy figures without a device profile: the energy views have no feasible pipeline.
    const energy = res.analysis.findings.find((x) => x.view.objective === 'energy' && x.view.set === 'all')!;
    expect(energy.line).toMatch(/^no pipeline meets the constraints over the whole range/);
    expect(res.analysis.text).toContain('crossover at');
  });

  test('a markov uplink: rateBps scales every state so that the time-average rate equals the value', () => {
    const f = writeScenario(work, 'noisy.yaml', NOISY);
    const { file, raw } = readScenarioData(f);
    const { axes, points, notes } = buildSweep(file, raw, { vary: ['uplink.rateBps=1e5,2e6'] });
    expect(axes[0]).toMatchObject({ field: 'uplink.rateBps', kind: 'numeric', values: [1e5, 2e6], log: false });
    expect(notes.join(' ')).toMatch(/markov link: uplink.rateBps scales its 2 states' rates/);
    for (const p of points) {
      const up = p.scenario.uplink as { states: Array<{ rateBps: number; meanSojournMs: number }> };
      expect(markovMeanRateBps(up.states)).toBeCloseTo(p.values[0] as number, 3);
      expect(up.states[0].rateBps / up.states[1].rateBps).toBeCloseTo(6, 9); // the shape is kept
    }
  });

  test('integer fields round a range; two --vary make a grid (first axis fastest); fields follow the variant the scenario uses', () => {
    const f = writeScenario(work, 'noisy2.yaml', NOISY);
    const { file, raw } = readScenarioData(f);
    const { axes, points, notes } = buildSweep(file, raw, { vary: ['devices.count=1..10', 'uplink.delayMs=5,50'], steps: 4, log: true });
    expect(axes[0].values).toEqual([1, 2, 5, 10]);
    expect(notes.join(' ')).toMatch(/integer field/);
    expect(points.map((p) => p.values)).toEqual([[1, 5], [2, 5], [5, 5], [10, 5], [1, 50], [2, 50], [5, 50], [10, 50]]);
    expect(points[5].scenario.devices.count).toBe(2);
    expect(points[5].scenario.uplink.delayMs).toBe(50);
    const parsed = points[0].scenario as unknown as Record<string, unknown>;
    const fields = scenarioFields(parsed, raw).numeric.map((x) => x.path);
    expect(fields).toEqual(expect.arrayContaining(['devices.count', 'devices.arrival.ratePerS', 'edge.workers', 'edge.maxBatch', 'deadlineMs',
      'uplink.delayMs', 'uplink.rateBps', 'uplink.states.0.rateBps', 'uplink.delivery.minRtoMs', 'downlink.rateBps', 'duration.requests', 'decision.maxAccuracyDrop']));
    // A poisson arrival has no fps; a lossless link no loss probability; the seed is not a sweep field.
    for (const f2 of ['devices.arrival.fps', 'uplink.loss.p', 'seed', 'samples']) expect(fields).not.toContain(f2);
  });

  test('a device-profile axis: energy follows each profile\'s power; a grid prints a map', async () => {
    const f = writeScenario(work, 'noisy3.yaml', NOISY);
    const res = await runSweep({ scenario: f, device: ['raspberry-pi-4,jetson-nano'], vary: ['uplink.rateBps=3e5,3e6'], out: path.join(work, 'grid') });
    expect(res.axes.map((a) => a.field)).toEqual(['uplink.rateBps', 'devices.profile']);
    expect(res.rows).toHaveLength(4 * 3);
    const local = res.rows.filter((r) => r.pipeline === 'local');
    expect(local.map((r) => r.device_profile)).toEqual(['raspberry-pi-4', 'raspberry-pi-4', 'jetson-nano', 'jetson-nano']);
    expect(local[0].energy_mj).not.toBeCloseTo(local[2].energy_mj as number, 3);
    expect(res.analysis.text).toMatch(/devices.profile \\ uplink.rateBps/);
    expect(res.analysis.plots.map((p) => p.name)).toEqual(['sweep-map', 'sweep-map-offloading']);
    expect(fs.existsSync(path.join(work, 'grid', 'plots', 'sweep-map.svg'))).toBe(true);
  });
});
