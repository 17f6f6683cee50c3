/**
 * A tail-server worker thread: loads the served pipelines once, warms every batch size up,
 * then runs the batches the server's main thread hands it (decode + tail) and posts back
 * the classes and its own timings. One batch at a time; the main thread does the queueing.
 */
import { parentPort, workerData } from 'worker_threads';
import { initBackend } from '../model/backend';
import type { RuntimeName } from '../model/runtime';
import type { PipelineRef } from '../pipelines/ref';
import { LivePipeline, type TailOutcome } from './pipeline';

/** What the main thread starts a worker with. */
export interface WorkerInit {
  refs: PipelineRef[];
  zooDir: string;
  maxBatch: number;
  /** Share of a processor this worker emulates (1: the whole core, no holding). */
  cpuShare: number;
  runtime: RuntimeName;
}

/** Main thread → worker. */
export interface BatchMessage {
  type: 'batch';
  id: number;
  pipeline: number;
  payloads: Uint8Array[];
}

/** Worker → main thread. */
export type WorkerReply =
  | { type: 'ready'; backend: string }
  | { type: 'done'; id: number; startMs: number; endMs: number; tailMs: number; outcomes: TailOutcome[] }
  | { type: 'failed'; id: number; error: string };

function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

async function main(): Promise<void> {
  const port = parentPort!;
  const init = workerData as WorkerInit;
  await initBackend();
  const pipelines: LivePipeline[] = [];
  for (const ref of init.refs) pipelines.push(await LivePipeline.load(ref, init.zooDir, init.runtime));
  const backend = [...new Set(pipelines.map((p) => p.backend))].sort().join('+');
  // tfjs compiles and allocates on first use of each shape: run every batch size before serving.
  for (const p of pipelines) {
    if (p.local) continue;
    const w = await p.warmupPayload();
    for (let b = 1; b <= init.maxBatch; b++) for (let r = 0; r < 3; r++) await p.serve(Array.from({ length: b }, () => w));
  }
  port.on('message', (m: BatchMessage) => {
    void (async () => {
      const startMs = nowMs();
      try {
        const { outcomes, tailMs } = await pipelines[m.pipeline].serve(m.payloads);
        // A share s of a core: the batch's time on a whole core, stretched by 1/s. The thread
        // blocks (Atomics.wait: sub-millisecond, no CPU used) as if descheduled.
        if (init.cpuShare < 1) {
          const hold = (nowMs() - startMs) * (1 / init.cpuShare - 1);
          Atomics.wait(sleeper, 0, 0, hold);
        }
        port.postMessage({ type: 'done', id: m.id, startMs, endMs: nowMs(), tailMs, outcomes } satisfies WorkerReply);
      } catch (e) {
        port.postMessage({ type: 'failed', id: m.id, error: (e as Error).message } satisfies WorkerReply);
      }
    })();
  });
  port.postMessage({ type: 'ready', backend } satisfies WorkerReply);
}

if (parentPort) {
  // A failure at start-up ends the thread with an error event; the server reports it.
  main().catch((e) => setImmediate(() => { throw e; }));
}
