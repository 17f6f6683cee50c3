import { batchMeansHalfWidth } from '../../src/report/stats';
import { summarizeRun } from '../../src/report/summary';
import { RequestStatus } from '../../src/sim/requests';
import type { PipelineRun } from '../../src/sim/system';
import { edgeQueueScenario, erlangC, instantLinks, runFirst } from './helpers';

/** Mean edge-queue wait of the measured requests and its batch-means 95% half-width. */
function edgeWait(run: PipelineRun): { mean: number; halfWidth: number; n: number } {
  const T = run.requests;
  const waits = new Float64Array(T.count - run.firstMeasuredId);
  for (let i = run.firstMeasuredId, k = 0; i < T.count; i++) waits[k++] = T.edgeStartMs[i] - T.edgeArrivalMs[i];
  let s = 0;
  for (const w of waits) s += w;
  return { mean: s / waits.length, halfWidth: batchMeansHalfWidth(waits, 20).halfWidth, n: waits.length };
}

const SERVICE_MS = 100; // mean edge service time
const REQUESTS = 200_000;
const WARMUP = 5_000;

interface Case {
  name: string;
  rho: number;
  workers: number;
  edgeMs: unknown;
  /** Mean wait in queue from theory, ms. */
  wqTheory: number;
}

const cases: Case[] = [
  { name: 'M/M/1 rho=0.5', rho: 0.5, workers: 1, edgeMs: { type: 'exponential', mean: SERVICE_MS }, wqTheory: (0.5 * SERVICE_MS) / (1 - 0.5) },
  { name: 'M/M/1 rho=0.8', rho: 0.8, workers: 1, edgeMs: { type: 'exponential', mean: SERVICE_MS }, wqTheory: (0.8 * SERVICE_MS) / (1 - 0.8) },
  // Pollaczek–Khinchine with deterministic service: Wq = rho·S / (2(1 − rho)).
  { name: 'M/D/1 rho=0.8', rho: 0.8, workers: 1, edgeMs: SERVICE_MS, wqTheory: (0.8 * SERVICE_MS) / (2 * (1 - 0.8)) },
  // Erlang C: Wq = C(c, a) / (c·mu − lambda), a = lambda/mu = c·rho.
  {
    name: 'M/M/4 rho=0.8',
    rho: 0.8,
    workers: 4,
    edgeMs: { type: 'exponential', mean: SERVICE_MS },
    wqTheory: erlangC(4, 3.2) / (4 / SERVICE_MS - 3.2 / SERVICE_MS),
  },
];

describe('edge queue against queueing theory (Poisson arrivals, instant links)', () => {
  test.each(cases)('$name: mean wait within 3 CI half-widths of theory', async (c) => {
    const ratePerS = (c.rho * c.workers * 1000) / SERVICE_MS;
    const s = edgeQueueScenario({ ratePerS, edgeMs: c.edgeMs, workers: c.workers, requests: REQUESTS, warmup: WARMUP });
    const run = await runFirst(s, instantLinks);
    const w = edgeWait(run);
    const row = summarizeRun(run);
    console.log(
      `${c.name}: Wq sim ${w.mean.toFixed(2)} ms ± ${w.halfWidth.toFixed(2)} (95% batch means, ${w.n} requests), theory ${c.wqTheory.toFixed(2)} ms; ` +
        `W sim ${Number(row.e2e_mean_ms).toFixed(2)} ± ${Number(row.e2e_ci95_ms).toFixed(2)}, theory ${(c.wqTheory + SERVICE_MS).toFixed(2)}; ` +
        `edge utilization ${Number(row.edge_utilization).toFixed(4)} (rho ${c.rho})`,
    );
    expect(w.halfWidth).toBeGreaterThan(0);
    // A meaningful check: the interval is narrow compared with the quantity.
    expect(w.halfWidth).toBeLessThan(0.1 * c.wqTheory);
    expect(Math.abs(w.mean - c.wqTheory)).toBeLessThan(3 * w.halfWidth);
    // Sojourn = wait + service (all other stages are instantaneous here).
    expect(Math.abs(Number(row.e2e_mean_ms) - (c.wqTheory + SERVICE_MS))).toBeLessThan(3 * Number(row.e2e_ci95_ms));
    expect(Number(row.device_ms) + Number(row.uplink_ms) + Number(row.downlink_ms)).toBe(0);
    expect(Number(row.edge_utilization)).toBeCloseTo(c.rho, 1);
  });
});

describe("Little's law and conservation", () => {
  test("L = lambda·W exactly on a run whose arrivals stop and which drains (edge queue)", async () => {
    const s = edgeQueueScenario({ ratePerS: 8, edgeMs: { type: 'exponential', mean: SERVICE_MS }, workers: 1, requests: 50_000, warmup: 0 });
    const run = await runFirst(s, instantLinks);
    checkLittle(run);
  });

  test('L = lambda·W exactly through the whole pipeline (devices, real links, K workers)', async () => {
    const { parseScenario } = await import('../../src/config/scenario');
    const s = parseScenario(
      {
        seed: 3,
        duration: { requests: 20_000 },
        devices: { count: 3, arrival: { type: 'poisson', ratePerS: 20 } },
        uplink: { type: 'constant', rateBps: 2e6, delayMs: 20 },
        downlink: { type: 'constant', rateBps: 1e7, delayMs: 20 },
        edge: { workers: 2 },
        pipelines: [{ name: 'p', deviceMs: { type: 'exponential', mean: 30 }, payloadBytes: [2000, 5000, 9000], edgeMs: { type: 'uniform', min: 10, max: 50 }, resultBytes: 100 }],
      },
      'little.yaml',
    );
    const run = await runFirst(s);
    checkLittle(run);
    // Device queueing really happened (rho_device = 20/s · 30 ms = 0.6).
    const row = summarizeRun(run);
    expect(Number(row.device_queue_ms)).toBeGreaterThan(5);
  });

  test('arrivals = completed + dropped + in system, on a run cut off mid-flight with a lossy uplink', async () => {
    const { parseScenario } = await import('../../src/config/scenario');
    const s = parseScenario(
      {
        seed: 11,
        duration: { seconds: 200 },
        drain: false,
        devices: { count: 2, arrival: { type: 'poisson', ratePerS: 5 } },
        uplink: { type: 'constant', rateBps: 1e6, delayMs: 30, loss: { model: 'bernoulli', p: 0.05 } },
        downlink: { type: 'constant', rateBps: 1e7, delayMs: 30 },
        edge: { workers: 1 },
        pipelines: [{ name: 'p', deviceMs: 10, payloadBytes: 6000, edgeMs: { type: 'exponential', mean: 95 }, resultBytes: 64 }],
      },
      'conservation.yaml',
    );
    const run = await runFirst(s);
    const T = run.requests;
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < T.count; i++) counts[T.status[i]]++;
    const completed = counts[RequestStatus.Completed];
    const dropped = counts[RequestStatus.DroppedUplink] + counts[RequestStatus.DroppedDownlink];
    console.log(`conservation: arrivals ${T.count} = completed ${completed} + dropped ${dropped} + in system ${run.inSystemAtEnd}`);
    expect(run.endMs).toBe(200_000);
    expect(dropped).toBeGreaterThan(0);
    expect(run.inSystemAtEnd).toBeGreaterThan(0);
    expect(counts[RequestStatus.InSystem]).toBe(run.inSystemAtEnd);
    expect(T.count).toBe(completed + dropped + run.inSystemAtEnd);
    // The links' own counters agree with the model's.
    expect(run.uplink.failed).toBe(counts[RequestStatus.DroppedUplink]);
    expect(run.uplink.delivered + run.uplink.failed).toBeLessThanOrEqual(run.uplink.payloads);
    // Little's law holds on a cut run too, with sojourns truncated at the end.
    let sum = 0;
    for (let i = 0; i < T.count; i++) sum += (Number.isNaN(T.endMs[i]) ? run.endMs : T.endMs[i]) - T.arrivalMs[i];
    expect(Math.abs(run.areaInSystemMs - sum) / sum).toBeLessThan(1e-9);
    const row = summarizeRun(run);
    expect(Number(row.requests)).toBe(Number(row.completed) + Number(row.dropped) + Number(row.in_system));
  });
});

/** Time-average number in system (from the model's integral of N(t)) vs arrival rate × mean sojourn. */
function checkLittle(run: PipelineRun): void {
  const T = run.requests;
  let sojourn = 0, completed = 0;
  for (let i = 0; i < T.count; i++) {
    if (T.status[i] === RequestStatus.Completed) completed++;
    sojourn += T.endMs[i] - T.arrivalMs[i];
  }
  expect(completed).toBe(T.count);
  expect(run.inSystemAtEnd).toBe(0);
  const L = run.areaInSystemMs / run.endMs;
  const lambda = T.count / run.endMs;
  const W = sojourn / T.count;
  console.log(`Little: L = ${L.toFixed(6)}, lambda·W = ${(lambda * W).toFixed(6)} (${T.count} requests, T = ${run.endMs.toFixed(1)} ms)`);
  expect(L).toBeGreaterThan(0.5);
  expect(Math.abs(L - lambda * W) / L).toBeLessThan(1e-9);
}
