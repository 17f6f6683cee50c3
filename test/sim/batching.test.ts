import { parseScenario } from '../../src/config/scenario';
import type { PipelineRecord } from '../../src/pipelines/record';
import { summarizeRun } from '../../src/report/summary';
import { simulatePipeline } from '../../src/sim/system';
import { instantLinks } from '../validation/helpers';

/**
 * Dynamic batching at the edge against a hand-derived timeline. Requests reach the edge at
 * 0, 1, 2, 3, 4, 5 ms (periodic arrivals, no device time, instant links); one worker batches
 * up to 4, waiting at most 5 ms; each request decodes in 1 ms and the tail of a batch of b
 * takes 10, 12, 13, 14 ms (b = 1..4).
 *  - 0..2: requests 0-2 wait (fewer than 4; the oldest's 5 ms are not up).
 *  - 3: request 3 fills the batch: [0,1,2,3] starts at 3, takes 4 x 1 + 14 = 18 ms, ends at 21.
 *  - 4, 5: requests 4 and 5 wait; the worker is busy (request 0's timer at 5 finds it busy).
 *  - 21: [4,5] has waited 17 and 16 ms >= 5: it starts at 21, takes 2 x 1 + 12 = 14, ends at 35.
 */
function record(): PipelineRecord {
  return {
    name: 'batched', source: 'measured', model: 'm', split: 's', codec: 'c', params: '', kind: 'naive', local: false,
    samples: { bytes: Uint32Array.of(0), correct: Uint8Array.of(1), deviceMs: Float64Array.of(0), decodeMs: Float64Array.of(1) },
    resultBytes: () => 0,
    tailBatchMs: Float64Array.of(10, 12, 13, 14),
    means: { deviceMs: 0, payloadBytes: 0, edgeMs: 11, resultBytes: 0 },
  };
}

function scenario(maxBatch: number, maxWaitMs: number) {
  return parseScenario({
    seed: 1,
    duration: { requests: 6 },
    devices: { count: 1, arrival: { type: 'periodic', fps: 1000, phase: 'aligned' } },
    uplink: { type: 'constant', rateBps: 1e9 },
    downlink: { type: 'constant', rateBps: 1e9 },
    edge: { workers: 1, maxBatch, maxWaitMs },
    pipelines: [{ name: 'x', local: true, deviceMs: 0 }],
  }, 'batch.yaml');
}

const col = (a: Float64Array | Int32Array, n: number) => Array.from(a.subarray(0, n));

describe('edge batching', () => {
  test('a full batch starts at once; a partial one when its oldest request has waited maxWaitMs', () => {
    const run = simulatePipeline(scenario(4, 5), record(), { createLinks: instantLinks, keepRequests: true });
    const T = run.requests;
    expect(col(T.edgeArrivalMs, 6)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(col(T.edgeStartMs, 6)).toEqual([3, 3, 3, 3, 21, 21]);
    expect(col(T.edgeEndMs, 6)).toEqual([21, 21, 21, 21, 35, 35]);
    expect(col(T.batch, 6)).toEqual([4, 4, 4, 4, 2, 2]);
    expect(run.edgeBatches).toBe(2);
    expect(run.edgeBusyMs).toBe(18 + 14);
    expect(summarizeRun(run).edge_batch_mean).toBeCloseTo(20 / 6, 12);
  });

  test('alone, a request waits maxWaitMs for company, then runs as a batch of one', () => {
    const s = parseScenario({ ...scenario(4, 5), duration: { requests: 1 } }, 'batch.yaml');
    const run = simulatePipeline(s, record(), { createLinks: instantLinks, keepRequests: true });
    expect(run.requests.edgeStartMs[0]).toBe(5);
    expect(run.requests.edgeEndMs[0]).toBe(5 + 1 + 10);
  });

  test('maxWaitMs 0: a free worker takes whatever is waiting, up to maxBatch', () => {
    const run = simulatePipeline(scenario(4, 0), record(), { createLinks: instantLinks, keepRequests: true });
    const T = run.requests;
    // 0 runs alone (0..11); 1..4 queue meanwhile and go together at 11 (4 + 14 = 18, to 29); 5 then at 29.
    expect(col(T.edgeStartMs, 6)).toEqual([0, 11, 11, 11, 11, 29]);
    expect(col(T.batch, 6)).toEqual([1, 4, 4, 4, 4, 1]);
    expect(T.edgeEndMs[5]).toBe(29 + 11);
  });

  test('maxBatch 1 is the plain FIFO: every request costs decode + tail at batch 1', () => {
    const run = simulatePipeline(scenario(1, 0), record(), { createLinks: instantLinks, keepRequests: true });
    expect(col(run.requests.edgeStartMs, 6)).toEqual([0, 11, 22, 33, 44, 55]);
  });
});
