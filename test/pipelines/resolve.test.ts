import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseScenario } from '../../src/config/scenario';
import { classCost, loadCodecCosts, predictCostMs } from '../../src/codecs/cost';
import { headLayers, predictLayers, splitTimes, sumMs } from '../../src/hardware/cost';
import { analyzeModelSpec } from '../../src/hardware/model-source';
import { loadProfile } from '../../src/hardware/profile';
import { resolveScenario } from '../../src/pipelines/resolve';
import { summarizeRun } from '../../src/report/summary';
import { simulateScenario } from '../../src/sim/system';
import { UserError } from '../../src/util/errors';

// Measured pipelines run the committed zoo on a few test images; the cache goes to a private
// folder so this test measures for real and leaves the project's cache alone.
const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'splitsim-resolve-'));
beforeAll(() => { process.env.SPLITSIM_CACHE_DIR = cacheDir; });
afterAll(() => { delete process.env.SPLITSIM_CACHE_DIR; fs.rmSync(cacheDir, { recursive: true, force: true }); });

const STUDENT = 'student-b0.3/bottleneck/factorized';

function scenario(over: Record<string, unknown> = {}) {
  return parseScenario({
    seed: 9,
    duration: { requests: 400 },
    samples: 40,
    devices: { count: 1, arrival: { type: 'poisson', ratePerS: 1 }, profile: 'raspberry-pi-4' },
    uplink: { type: 'constant', rateBps: 2e6, delayMs: 20 },
    downlink: { type: 'constant', rateBps: 1e7, delayMs: 20 },
    edge: { profile: 't4', workers: 1 },
    resultBytes: 8,
    pipelines: [STUDENT],
    ...over,
  }, 'resolve-test.yaml');
}

describe('pipeline resolution', () => {
  test('a measured record: real per-sample bytes, profiled head/tail, scaled codec time; both extremes added', async () => {
    const r = await resolveScenario({ scenario: scenario(), file: 'resolve-test.yaml' });
    const names = r.records.map((x) => x.name);
    expect(names[0]).toBe(STUDENT);
    expect(names).toContain('teacher/device-only');
    for (const c of ['raw', 'png', 'webp-lossless', 'jpeg[quality=75]', 'webp[quality=75]', 'avif[quality=50]']) expect(names).toContain(`teacher/input/${c}`);
    expect(r.reference).toBe('teacher/device-only');
    const rec = r.records[0];
    expect(rec.source).toBe('measured');
    expect(rec.kind).toBe('bottleneck');
    const s = rec.samples!;
    expect(s.bytes.length).toBe(40);
    // The head on the Pi and the tail on the T4, recomputed here from the cost model.
    const analysis = (await analyzeModelSpec('student-b0.3')).analysis;
    const pi = loadProfile('raspberry-pi-4'), t4 = loadProfile('t4');
    const costs = predictLayers(analysis.layers, pi, { outputs: new Set(analysis.outputs), boundary: new Set(['bottleneck']) });
    const head = headLayers(analysis, 'bottleneck');
    expect(rec.measured!.headMs).toBeCloseTo(sumMs(costs.filter((c) => head.has(c.name))), 12);
    expect(rec.measured!.tailMs).toBeCloseTo(splitTimes(analysis, t4, 'bottleneck').tailMs, 12);
    // Codec time: the factorized class's calibrated model at each sample's bytes, scaled by the
    // host/profile sysbench ratio (never a clock reading).
    const cc = loadCodecCosts();
    const cls = classCost(cc, 'factorized');
    const devScale = cc.host.sysbenchEventsPerS / pi.cpu!.sysbenchEventsPerS;
    const edgeScale = cc.host.sysbenchEventsPerS / t4.cpu!.sysbenchEventsPerS;
    expect(devScale).toBeGreaterThan(3); // a Pi core is several times slower than this host's
    for (let k = 0; k < 40; k++) {
      expect(s.deviceMs[k]).toBeCloseTo(rec.measured!.headMs + predictCostMs(cls.encode, 784, s.bytes[k]) * devScale, 12);
      expect(s.decodeMs[k]).toBeCloseTo(predictCostMs(cls.decode, 784, s.bytes[k]) * edgeScale, 12);
    }
    expect(rec.measured!.sampleAccuracy).toBeGreaterThan(0.6); // a trained student, not chance
    expect(rec.measured!.backend).toMatch(/^(tensorflow|wasm|cpu|onnxruntime)$/);
    // Device-only: the whole teacher on the Pi, nothing offloaded, the teacher's own top-1.
    const local = r.records.find((x) => x.name === 'teacher/device-only')!;
    expect(local.local).toBe(true);
    expect(local.samples!.bytes.every((b) => b === 0)).toBe(true);
  });

  test('at low load, simulated mean e2e = device + codec + serialization + propagation + edge + downlink (1%)', async () => {
    const s = scenario();
    const r = await resolveScenario({ scenario: s, file: 'resolve-test.yaml' }, { only: [STUDENT] });
    const rec = r.records.find((x) => x.name === STUDENT)!;
    const [run] = simulateScenario(s, [rec], { keepRequests: true });
    const row = summarizeRun(run);
    const m = rec.measured!;
    const bytes = m.bytesMean;
    const hand = m.headMs + m.encodeMsMean + ((bytes + 28) * 8) / 2e6 * 1000 + 20 + m.decodeMsMean + m.tailMs + ((8 + 28) * 8) / 1e7 * 1000 + 20;
    expect(Math.abs((row.e2e_mean_ms as number) - hand) / hand).toBeLessThan(0.01);
    // Payloads are the samples' real sizes, and the run's top-1 is the samples' outcomes.
    const sizes = new Set(Array.from(rec.samples!.bytes));
    for (let i = 0; i < run.requests.count; i++) expect(sizes.has(run.requests.payloadBytes[i])).toBe(true);
    expect(Math.abs((row.accuracy as number) - m.sampleAccuracy)).toBeLessThan(0.03);
  });

  test('batching: the tail of a batch of b is the server profile predicted at batch b', async () => {
    const s = scenario({ edge: { profile: 't4', workers: 1, maxBatch: 8, maxWaitMs: 1 } });
    const r = await resolveScenario({ scenario: s, file: 'resolve-test.yaml' }, { only: [STUDENT] });
    const rec = r.records.find((x) => x.name === STUDENT)!;
    const analysis = (await analyzeModelSpec('student-b0.3')).analysis;
    expect(rec.tailBatchMs!.length).toBe(8);
    for (let b = 1; b <= 8; b++) expect(rec.tailBatchMs![b - 1]).toBeCloseTo(splitTimes(analysis, loadProfile('t4'), 'bottleneck', { batch: b }).tailMs, 12);
    // Weights are read once per batch: batching is cheaper per request than one at a time.
    expect(rec.tailBatchMs![7] / 8).toBeLessThan(rec.tailBatchMs![0]);
  });

  test('edge.cpuShare s divides the edge tail (every batch size) and decode times by s, and nothing else', async () => {
    const full = await resolveScenario({ scenario: scenario({ edge: { profile: 't4', workers: 1, maxBatch: 4, maxWaitMs: 1 } }), file: 'resolve-test.yaml' }, { only: [STUDENT] });
    const part = await resolveScenario({ scenario: scenario({ edge: { profile: 't4', workers: 1, maxBatch: 4, maxWaitMs: 1, cpuShare: 0.25 } }), file: 'resolve-test.yaml' }, { only: [STUDENT] });
    const a = full.records.find((x) => x.name === STUDENT)!, b = part.records.find((x) => x.name === STUDENT)!;
    for (let k = 0; k < 4; k++) expect(b.tailBatchMs![k]).toBeCloseTo(a.tailBatchMs![k] * 4, 9);
    const sa = a.samples!, sb = b.samples!;
    expect(sa.decodeMs.some((d) => d > 0)).toBe(true);
    for (let i = 0; i < sa.decodeMs.length; i++) {
      expect(sb.decodeMs[i]).toBeCloseTo(sa.decodeMs[i] * 4, 9);
      expect(sb.deviceMs[i]).toBe(sa.deviceMs[i]);
      expect(sb.bytes[i]).toBe(sa.bytes[i]);
    }
    expect(() => scenario({ edge: { profile: 't4', cpuShare: 0 } })).toThrow(/edge\.cpuShare.*must be above 0/);
    expect(() => scenario({ edge: { profile: 't4', cpuShare: 2 } })).toThrow(/edge\.cpuShare.*must be at most 1/);
  });

  test('bad names are all reported at once, before anything is measured, naming file and field', async () => {
    const s = scenario({ pipelines: ['teacher/stage9/quant', 'teacher/input/jpg[quality=50]', { webp: { qualty: [50] } }, 'student-b0.3/bottleneck/factorized'] });
    const t0 = Date.now();
    let msg = '';
    try {
      await resolveScenario({ scenario: s, file: 'resolve-test.yaml' });
    } catch (e) {
      expect(e).toBeInstanceOf(UserError);
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/3 problems/);
    expect(msg).toMatch(/resolve-test\.yaml: field 'pipelines\[0\]': 'stage9' is not a split of teacher \(splits: device-only, input, stem, stage1, stage2, stage3, pool\)/);
    expect(msg).toMatch(/field 'pipelines\[1\]': unknown codec 'jpg' \(codecs: raw, png, webp-lossless, jpeg, webp, avif, quant/);
    expect(msg).toMatch(/field 'pipelines\[2\]\.webp': codec 'webp': unknown parameter\(s\) 'qualty' \(webp takes quality\)/);
    expect(fs.readdirSync(cacheDir).filter((f) => f.includes('student'))).toEqual([]); // nothing was measured for them
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  test('profiles, batching limits and references are checked too', async () => {
    const bad = scenario({
      devices: { count: 1, arrival: { type: 'poisson', ratePerS: 1 }, profile: 'raspbery-pi-4' },
      edge: { profile: 'raspberry-pi-4', maxBatch: 4 },
      reference: 'teacher/input/jpeg[quality=33]',
    });
    await expect(resolveScenario({ scenario: bad, file: 'x.yaml' })).rejects.toThrow(/reference.*not one of the scenario's measured pipelines[\s\S]*devices\.profile.*unknown device 'raspbery-pi-4'[\s\S]*edge\.maxBatch.*declares no batching/);
    const noProfiles = scenario({ devices: { count: 1, arrival: { type: 'poisson', ratePerS: 1 } }, edge: { workers: 1 } });
    await expect(resolveScenario({ scenario: noProfiles, file: 'x.yaml' })).rejects.toThrow(/field 'devices\.profile': required[\s\S]*field 'edge\.profile': required/);
  });
});

describe('layering', () => {
  test('the simulator imports neither measure/ nor hardware/', () => {
    const dir = path.join(__dirname, '..', '..', 'src', 'sim');
    for (const f of fs.readdirSync(dir)) {
      const text = fs.readFileSync(path.join(dir, f), 'utf8');
      expect([f, /from '\.\.\/(measure|hardware)\//.test(text) || /require\('\.\.\/(measure|hardware)/.test(text)]).toEqual([f, false]);
    }
  });
});
