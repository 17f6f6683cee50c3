import { parseScenario, type Scenario } from '../../src/config/scenario';
import type { Link, LinkContext } from '../../src/network/link';
import { emptyStats } from '../../src/network/link';
import { summarizeRun } from '../../src/report/summary';
import { resolveScenario } from '../../src/pipelines/resolve';
import { RequestStatus } from '../../src/sim/requests';
import { simulatePipeline, simulateScenario, type LinkFactory, type PipelineRun } from '../../src/sim/system';
import { instantLinks } from '../validation/helpers';

/** Links with no per-packet header, so serialization is exactly payload·8/rate. */
const link = (rateBps: number, delayMs: number) => ({ type: 'constant', rateBps, delayMs, headerBytes: 0 });

function scenario(over: Record<string, unknown>): Scenario {
  return parseScenario(
    {
      seed: 5,
      duration: { requests: 10 },
      devices: { count: 1, arrival: { type: 'periodic', fps: 10, phase: 'aligned' } },
      uplink: link(1e6, 10),
      downlink: link(1e6, 10),
      pipelines: [{ name: 'p', deviceMs: 20, payloadBytes: 1000, edgeMs: 30, resultBytes: 500 }],
      ...over,
    },
    'test.yaml',
  );
}

async function records(s: Scenario) {
  return (await resolveScenario({ scenario: s, file: 'test.yaml' })).records;
}

async function runAll(s: Scenario, createLinks?: LinkFactory): Promise<PipelineRun[]> {
  return simulateScenario(s, await records(s), { createLinks, keepRequests: true });
}

const column = (run: PipelineRun, f: 'arrivalMs' | 'deviceStartMs' | 'endMs' | 'deviceMs' | 'edgeStartMs' | 'edgeArrivalMs') =>
  Array.from(run.requests[f].subarray(0, run.requests.count));

describe('system model, hand-computed timelines', () => {
  test('every stage of an uncontended request: device 20 + uplink 8+10 + edge 30 + downlink 4+10 = 82 ms', async () => {
    const [run] = await runAll(scenario({}));
    const T = run.requests;
    expect(T.count).toBe(10);
    for (let i = 0; i < T.count; i++) {
      const a = i * 100;
      expect(T.arrivalMs[i]).toBeCloseTo(a, 9);
      expect(T.deviceStartMs[i]).toBeCloseTo(a, 9);
      expect(T.deviceEndMs[i]).toBeCloseTo(a + 20, 9);
      expect(T.edgeArrivalMs[i]).toBeCloseTo(a + 38, 9);
      expect(T.edgeStartMs[i]).toBeCloseTo(a + 38, 9);
      expect(T.edgeEndMs[i]).toBeCloseTo(a + 68, 9);
      expect(T.endMs[i]).toBeCloseTo(a + 82, 9);
      expect(T.status[i]).toBe(RequestStatus.Completed);
    }
    const row = summarizeRun(run);
    expect(row).toMatchObject({ requests: 10, completed: 10, dropped: 0, in_system: 0 });
    expect(row.e2e_mean_ms).toBeCloseTo(82, 9);
    expect(row.e2e_p99_ms).toBeCloseTo(82, 9);
    expect(row.uplink_ms).toBeCloseTo(18, 9);
    expect(row.downlink_ms).toBeCloseTo(14, 9);
    expect(row.uplink_bytes).toBe(10_000);
    expect(row.downlink_bytes).toBe(5_000);
    expect(run.endMs).toBeCloseTo(982, 9);
  });

  test('device queue: 150 ms of compute per 100 ms frame makes frame k wait 50k ms', async () => {
    const [run] = await runAll(scenario({ duration: { requests: 5 }, pipelines: [{ name: 'slow', local: true, deviceMs: 150 }] }));
    const waits = column(run, 'deviceStartMs').map((s, i) => s - run.requests.arrivalMs[i]);
    waits.forEach((w, k) => expect(w).toBeCloseTo(50 * k, 9));
    const row = summarizeRun(run);
    expect(row.device_queue_ms).toBeCloseTo(100, 9);
    expect(row.e2e_mean_ms).toBeCloseTo(250, 9);
    // A local pipeline sends nothing.
    expect(row.uplink_payloads).toBe(0);
    expect(row.uplink_ms).toBe(0);
  });

  test('edge workers are shared by devices: two simultaneous requests wait 40 ms with 1 worker, 0 with 2', async () => {
    const base = {
      duration: { requests: 2 },
      devices: { count: 2, arrival: { type: 'periodic', fps: 1, phase: 'aligned' } },
      pipelines: [{ name: 'p', deviceMs: 0, payloadBytes: 0, edgeMs: 40, resultBytes: 0 }],
    };
    const [one] = await runAll(scenario({ ...base, edge: { workers: 1 } }), instantLinks);
    expect(column(one, 'edgeStartMs').map((s, i) => s - one.requests.edgeArrivalMs[i])).toEqual([0, 40]);
    expect(one.requests.device[0]).toBe(0);
    expect(one.requests.device[1]).toBe(1);
    // The run ends when the last request leaves: 80 ms of work on 1 worker over 80 ms.
    expect(one.endMs).toBe(80);
    expect(summarizeRun(one).edge_utilization).toBeCloseTo(1, 9);
    const [two] = await runAll(scenario({ ...base, edge: { workers: 2 } }), instantLinks);
    expect(column(two, 'edgeStartMs')).toEqual([0, 0]);
    expect(two.endMs).toBe(40);
    expect(summarizeRun(two).edge_utilization).toBeCloseTo(1, 9);
  });

  test('closed loop: think 50 ms + compute 10 ms gives one request every 60 ms', async () => {
    const [run] = await runAll(
      scenario({
        duration: { seconds: 6 },
        devices: { count: 1, arrival: { type: 'closed', thinkMs: 50 } },
        pipelines: [{ name: 'l', local: true, deviceMs: 10 }],
      }),
    );
    // Arrivals at 50, 110, ..., 5990 (< 6000).
    expect(run.requests.count).toBe(100);
    column(run, 'arrivalMs').forEach((a, k) => expect(a).toBeCloseTo(50 + 60 * k, 9));
    expect(summarizeRun(run).device_queue_ms).toBe(0);
  });

  test('periodic jitter and random phase stay within their bounds', async () => {
    const [run] = await runAll(
      scenario({
        duration: { requests: 400 },
        devices: { count: 4, arrival: { type: 'periodic', fps: 20, jitterMs: 10 } },
        pipelines: [{ name: 'l', local: true, deviceMs: 1 }],
      }),
    );
    const T = run.requests;
    const first = new Map<number, number>();
    const frames = new Map<number, number>();
    let maxOffset = 0, minOffset = Infinity;
    for (let i = 0; i < T.count; i++) {
      const d = T.device[i];
      if (!first.has(d)) first.set(d, T.arrivalMs[i]);
      const k = frames.get(d) ?? 0;
      frames.set(d, k + 1);
      // Offset from frame k's nominal slot, relative to the device's first frame (phase + jitter0).
      const off = T.arrivalMs[i] - 50 * k;
      maxOffset = Math.max(maxOffset, off);
      minOffset = Math.min(minOffset, off);
      expect(i === 0 || T.arrivalMs[i] >= T.arrivalMs[i - 1]).toBe(true);
    }
    expect(minOffset).toBeGreaterThanOrEqual(0);
    expect(maxOffset).toBeLessThan(50 + 10); // phase < period, jitter < 10
    const phases = [...first.values()];
    expect(new Set(phases.map((p) => Math.round(p))).size).toBeGreaterThan(1); // random phases differ
  });

  test('a link that fails a payload drops the request; drops count as deadline misses', async () => {
    // Fails every third uplink payload, delivers the others after 5 ms.
    const failing: LinkFactory = (_spec, n, ctx: LinkContext) => {
      const links: Link[] = [];
      for (let d = 0; d < n; d++) {
        const st = emptyStats();
        let k = 0;
        const okEv = ctx.sim.register((id) => ctx.onDelivered(id, true));
        const failEv = ctx.sim.register((id) => ctx.onDelivered(id, false));
        links.push({
          name: `${ctx.name}[${d}]`,
          stats: () => ({ ...st }),
          send: (id: number) => {
            st.payloads++;
            const fail = ctx.name === 'uplink' && k++ % 3 === 2;
            if (fail) st.failed++;
            ctx.sim.schedule(5, fail ? failEv : okEv, id);
          },
        });
      }
      return links;
    };
    const s = scenario({ duration: { requests: 9 }, deadlineMs: 100, pipelines: [{ name: 'p', deviceMs: 20, payloadBytes: 1, edgeMs: 30, resultBytes: 1 }] });
    const [run] = await runAll(s, failing);
    const status = Array.from(run.requests.status.subarray(0, 9));
    expect(status).toEqual([1, 1, 2, 1, 1, 2, 1, 1, 2]);
    // A dropped request's end time is when the link gave up: device 20 + 5.
    expect(run.requests.endMs[2] - run.requests.arrivalMs[2]).toBeCloseTo(25, 9);
    expect(Number.isNaN(run.requests.edgeStartMs[2])).toBe(true);
    const row = summarizeRun(run);
    expect(row).toMatchObject({ completed: 6, dropped: 3, uplink_failed: 3 });
    expect(row.e2e_mean_ms).toBeCloseTo(60, 9);
    expect(row.deadline_miss_ratio).toBeCloseTo(3 / 9, 12);
    const tight = scenario({ duration: { requests: 9 }, deadlineMs: 59, pipelines: [{ name: 'p', deviceMs: 20, payloadBytes: 1, edgeMs: 30, resultBytes: 1 }] });
    expect(summarizeRun((await runAll(tight, failing))[0]).deadline_miss_ratio).toBe(1);
  });
});

describe('runs, warm-up and stopping', () => {
  test('pipelines share arrivals and underlying draws (common random numbers)', async () => {
    const s = scenario({
      duration: { requests: 500 },
      devices: { count: 3, arrival: { type: 'poisson', ratePerS: 5 } },
      pipelines: [
        { name: 'a', deviceMs: { type: 'exponential', mean: 10 }, payloadBytes: 100, edgeMs: 5, resultBytes: 10 },
        { name: 'b', deviceMs: { type: 'exponential', mean: 20 }, payloadBytes: 3000, edgeMs: 5, resultBytes: 10 },
      ],
    });
    const [a, b] = await runAll(s);
    expect(column(a, 'arrivalMs')).toEqual(column(b, 'arrivalMs'));
    expect(Array.from(a.requests.device.subarray(0, 500))).toEqual(Array.from(b.requests.device.subarray(0, 500)));
    // Same uniforms through -mean·log(u): b's draws are exactly twice a's.
    expect(column(b, 'deviceMs')).toEqual(column(a, 'deviceMs').map((x) => 2 * x));
  });

  test('warm-up by requests and by seconds decides which requests are measured', async () => {
    const [byCount] = await runAll(scenario({ duration: { requests: 50 }, warmup: { requests: 20 } }));
    expect(byCount.firstMeasuredId).toBe(20);
    expect(byCount.warmupEndMs).toBeCloseTo(2000, 9);
    expect(summarizeRun(byCount)).toMatchObject({ requests: 30, warmup_requests: 20 });
    const [bySecs] = await runAll(scenario({ duration: { seconds: 5 }, warmup: { seconds: 1.05 } }));
    // Frames at 0, 100, ..., 4900: those at >= 1050 ms are measured, from frame 11 on.
    expect(bySecs.requests.count).toBe(50);
    expect(bySecs.firstMeasuredId).toBe(11);
    expect(bySecs.warmupEndMs).toBe(1050);
    // Throughput: 39 completed over the window 1050 → 4982 ms.
    const row = summarizeRun(bySecs);
    expect(row.window_ms).toBeCloseTo(4982 - 1050, 9);
    expect(row.throughput_rps).toBeCloseTo((39 * 1000) / (4982 - 1050), 9);
    // One request is always in the system over [1050, 4982] except the gaps: mean 0.82 (82 of every 100 ms).
    expect(row.mean_in_system).toBeGreaterThan(0.8);
    expect(row.mean_in_system).toBeLessThan(0.84);
  });

  test('without drain the run stops when arrivals stop, leaving requests in the system', async () => {
    const [byCount] = await runAll(scenario({ duration: { requests: 5 }, drain: false }));
    expect(byCount.endMs).toBe(400);
    expect(byCount.inSystemAtEnd).toBe(1);
    const [bySecs] = await runAll(scenario({ duration: { seconds: 0.45 }, drain: false }));
    expect(bySecs.endMs).toBe(450);
    expect(bySecs.requests.count).toBe(5);
    expect(summarizeRun(bySecs)).toMatchObject({ completed: 4, in_system: 1 });
  });

  test('a seed override changes the draws; the same seed repeats them exactly', async () => {
    const s = scenario({ duration: { requests: 200 }, devices: { count: 2, arrival: { type: 'poisson', ratePerS: 10 } } });
    const [p] = await records(s);
    const a = simulatePipeline(s, p, { keepRequests: true });
    const b = simulatePipeline(s, p, { keepRequests: true });
    const c = simulatePipeline(s, p, { seed: 6, keepRequests: true });
    expect(column(a, 'endMs')).toEqual(column(b, 'endMs'));
    expect(column(a, 'arrivalMs')).not.toEqual(column(c, 'arrivalMs'));
    expect(c.seed).toBe(6);
  });
});
