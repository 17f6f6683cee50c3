/**
 * The tail server of live runs (`splitsim serve`): Fastify over HTTP/1.1, the binary request
 * format of protocol.ts, and the scenario's edge policy: K worker threads (each with its own
 * tfjs and copy of the tails) sharing one FIFO queue, with the dynamic batching of the
 * simulator (src/sim/system.ts startEdgeWork): a free worker takes a full batch at once, or
 * a smaller one once the oldest waiting request has waited maxWaitMs. A batch holds
 * requests of one pipeline: the oldest request's and the ones of the same pipeline behind it.
 *
 * The main thread only parses, queues and replies, so its receive timestamps are not held
 * up by inference. Malformed requests get a 4xx and a log line; a body above the size limit
 * is refused from its Content-Length before it is read; a client that goes away frees its
 * place in the queue; a worker that crashes or runs past the batch timeout is replaced and
 * its requests get a 500; close() (SIGTERM) finishes the requests in flight first.
 */
import * as http from 'http';
import * as path from 'path';
import type { RuntimeName } from '../model/runtime';
import { liveRuntime } from './scenario';
import { Worker } from 'worker_threads';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { pipelineName, type PipelineRef, DEVICE_ONLY } from '../pipelines/ref';
import { HEADER_BYTES, INFER_PATH, parseRequest, ProtocolError, type InferReply } from './protocol';
import type { BatchMessage, WorkerInit, WorkerReply } from './worker';

/** Options of the tail server. */
export interface ServeOptions {
  refs: PipelineRef[];
  zooDir: string;
  host?: string;
  port?: number;
  workers?: number;
  maxBatch?: number;
  maxWaitMs?: number;
  /**
   * Share of a processor each worker gets (edge.cpuShare, default 1): a worker holds each
   * batch for its measured decode-and-tail time divided by the share, as a fair-share
   * scheduler giving it that share of a core would.
   */
  cpuShare?: number;
  /** The model runtime (default: live's, see liveRuntime). */
  runtime?: RuntimeName;
  /** Largest payload accepted (the body may hold this plus the 16-byte header). */
  maxPayloadBytes?: number;
  /** Requests waiting for a worker beyond which new ones get 503. */
  maxQueue?: number;
  /** A request whose head and body have not arrived in this time gets 408. */
  requestTimeoutMs?: number;
  /** A batch running longer than this is taken as a hung worker. */
  batchTimeoutMs?: number;
  log?: (msg: string) => void;
}

/** Counters of a running server (GET /v1/stats). */
export interface ServerStats {
  received: number;
  completed: number;
  /** Requests answered with a 4xx (malformed). */
  rejected: number;
  /** Requests whose client went away before the reply. */
  aborted: number;
  /** Requests answered with a 5xx (overload, worker failure). */
  failed: number;
  queued: number;
  inService: number;
  batches: number;
  workersReady: number;
  workerRestarts: number;
  /** Sum over workers of the time they spent on batches, ms. */
  busyMs: number;
  rssBytes: number;
  heapUsedBytes: number;
  uptimeMs: number;
}

/** A running tail server. */
export interface TailServer {
  url: string;
  port: number;
  backend: string;
  pipelines: string[];
  stats(): ServerStats;
  /** Stops accepting, finishes the requests in flight, stops the workers. */
  close(): Promise<void>;
}

interface Entry {
  pipeline: number;
  sample: number;
  payload: Uint8Array;
  receivedMs: number;
  done: (status: number, body: object) => void;
  finished: boolean;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  batch?: { id: number; entries: Entry[]; timer: NodeJS.Timeout };
}

/** How long the server keeps an idle keep-alive connection (clients should close theirs sooner). */
export const KEEP_ALIVE_MS = 75000;

function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

/** Starts the server; resolves once every worker has loaded and warmed up its models. */
export async function startTailServer(opts: ServeOptions): Promise<TailServer> {
  const log = opts.log ?? (() => undefined);
  const K = opts.workers ?? 1;
  const maxBatch = opts.maxBatch ?? 1;
  const maxWaitMs = opts.maxWaitMs ?? 0;
  const maxQueue = opts.maxQueue ?? 4096;
  const batchTimeoutMs = opts.batchTimeoutMs ?? 30000;
  const maxPayloadBytes = opts.maxPayloadBytes ?? 1 << 20;
  const names = opts.refs.map(pipelineName);
  const startedMs = nowMs();
  const st = { received: 0, completed: 0, rejected: 0, aborted: 0, failed: 0, batches: 0, workerRestarts: 0, busyMs: 0 };
  const queue: Entry[] = [];
  const slots: Slot[] = [];
  let backend = '';
  let batchIds = 0;
  let waitTimer: NodeJS.Timeout | undefined;
  let waitTimerAt = -1;
  let closing = false;

  const init: WorkerInit = { refs: opts.refs, zooDir: opts.zooDir, maxBatch, cpuShare: opts.cpuShare ?? 1, runtime: opts.runtime ?? liveRuntime() };
  const spawn = (slot: Slot | undefined): Promise<Slot> =>
    new Promise((resolve, reject) => {
      const worker = new Worker(path.join(__dirname, 'worker.js'), { workerData: init });
      const s: Slot = slot ?? { worker, ready: false };
      s.worker = worker;
      s.ready = false;
      let started = false;
      worker.on('message', (m: WorkerReply) => {
        if (m.type === 'ready') {
          backend = m.backend;
          s.ready = true;
          started = true;
          resolve(s);
          pump();
        } else onBatchDone(s, m);
      });
      worker.on('error', (e) => {
        if (!started) reject(new Error(`tail worker failed to start: ${e.message}`));
        else log(`worker error: ${e.message}`);
      });
      worker.on('exit', (code) => {
        if (!started || closing) return;
        failBatch(s, `worker stopped (exit code ${code})`);
        st.workerRestarts++;
        log(`worker exited with code ${code}; starting a new one`);
        spawn(s).catch((e) => log(`could not restart a worker: ${(e as Error).message}`));
      });
    });

  function failBatch(s: Slot, why: string): void {
    const b = s.batch;
    s.ready = false;
    s.batch = undefined;
    if (!b) return;
    clearTimeout(b.timer);
    for (const e of b.entries) finish(e, 500, { error: 'worker_failed', message: why });
  }

  function finish(e: Entry, status: number, body: object): void {
    if (e.finished) return;
    e.finished = true;
    if (status === 200) st.completed++;
    else if (status >= 500) st.failed++;
    e.done(status, body);
  }

  function onBatchDone(s: Slot, m: WorkerReply): void {
    const b = s.batch;
    if (!b || m.type === 'ready' || m.id !== b.id) return;
    clearTimeout(b.timer);
    s.batch = undefined;
    if (m.type === 'failed') {
      for (const e of b.entries) finish(e, 500, { error: 'tail_failed', message: m.error });
    } else {
      st.busyMs += m.endMs - m.startMs;
      b.entries.forEach((e, i) => {
        const o = m.outcomes[i];
        if (!o.ok) {
          st.rejected++;
          log(`422 undecodable payload (pipeline ${names[e.pipeline]}, sample ${e.sample}): ${o.error}`);
          finish(e, 422, { error: 'undecodable', message: o.error });
          return;
        }
        const reply: InferReply = {
          pipeline: names[e.pipeline], sample: e.sample === 0xffffffff ? null : e.sample, class: o.cls, score: o.score,
          batch: b.entries.length, receivedMs: round3(e.receivedMs), startMs: round3(m.startMs), endMs: round3(m.endMs),
          decodeMs: round3(o.decodeMs), tailMs: round3(m.tailMs),
        };
        finish(e, 200, reply);
      });
    }
    pump();
  }

  /** Hands batches to free workers (the simulator's startEdgeWork, per pipeline). */
  function pump(): void {
    // Requests whose client has gone are dropped from the queue here too (see abort()).
    for (;;) {
      const free = slots.find((s) => s.ready && !s.batch);
      if (!free || queue.length === 0) return;
      const oldest = queue[0];
      let same = 0;
      for (const e of queue) if (e.pipeline === oldest.pipeline && ++same >= maxBatch) break;
      const due = oldest.receivedMs + maxWaitMs;
      const now = nowMs();
      if (same < maxBatch && due > now) {
        if (waitTimerAt !== due) {
          clearTimeout(waitTimer);
          waitTimerAt = due;
          waitTimer = setTimeout(() => { waitTimerAt = -1; pump(); }, Math.max(0, due - now));
        }
        return;
      }
      const entries: Entry[] = [];
      for (let i = 0; i < queue.length && entries.length < maxBatch; ) {
        if (queue[i].pipeline === oldest.pipeline) entries.push(queue.splice(i, 1)[0]);
        else i++;
      }
      const id = ++batchIds;
      const timer = setTimeout(() => {
        log(`batch ${id} ran past ${batchTimeoutMs} ms; stopping its worker`);
        failBatch(free, `batch ran past ${batchTimeoutMs} ms`);
        void free.worker.terminate();
      }, batchTimeoutMs);
      free.batch = { id, entries, timer };
      st.batches++;
      const msg: BatchMessage = { type: 'batch', id, pipeline: oldest.pipeline, payloads: entries.map((e) => e.payload) };
      free.worker.postMessage(msg);
    }
  }

  const requestTimeout = opts.requestTimeoutMs ?? 10000;
  const app: FastifyInstance = Fastify({
    logger: false,
    bodyLimit: HEADER_BYTES + maxPayloadBytes,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // Node checks request timeouts every connectionsCheckingInterval (30 s by default): check
    // often enough that a slow or stalled body gets its 408 close to the limit.
    // Idle keep-alive connections stay open longer than clients keep them (device.ts closes
    // its idle ones first), so a client never sends on a connection the server is closing.
    serverFactory: (handler) => http.createServer({ requestTimeout, connectionsCheckingInterval: Math.max(50, Math.min(1000, requestTimeout / 4)), keepAliveTimeout: KEEP_ALIVE_MS }, handler),
  });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  const reject = (req: FastifyRequest, reply: FastifyReply, status: number, code: string, message: string) => {
    st.rejected++;
    log(`${status} ${code}: ${message} (${req.ip} ${req.method} ${req.url})`);
    return reply.code(status).send({ error: code, message });
  };

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500;
    if (status >= 500) {
      st.failed++;
      log(`${status} ${err.code ?? 'error'}: ${err.message}`);
      return reply.code(status).send({ error: err.code ?? 'internal', message: err.message });
    }
    return reject(req, reply, status, err.code ?? 'bad_request', err.message);
  });
  app.setNotFoundHandler((req, reply) => reject(req, reply, 404, 'not_found', `no route ${req.method} ${req.url}; POST ${INFER_PATH}, GET /v1/pipelines, GET /v1/stats`));

  app.get('/v1/pipelines', async () => ({
    version: 1,
    pipelines: opts.refs.map((r, id) => ({ id, name: names[id], model: r.model, split: r.split, kind: r.kind })),
    edge: { workers: K, maxBatch, maxWaitMs },
    maxPayloadBytes,
    backend,
  }));
  app.get('/v1/stats', async () => stats());

  app.post(INFER_PATH, async (req, reply) => {
    const receivedMs = nowMs();
    st.received++;
    const body = req.body as Buffer | undefined;
    if (!Buffer.isBuffer(body)) return reject(req, reply, 400, 'empty_body', 'the body is empty; send the 16-byte header and the payload');
    let parsed: ReturnType<typeof parseRequest>;
    try {
      parsed = parseRequest(body, names.length);
    } catch (e) {
      if (e instanceof ProtocolError) return reject(req, reply, 400, e.code, e.message);
      throw e;
    }
    const { header, payload } = parsed;
    if (opts.refs[header.pipeline].split === DEVICE_ONLY) {
      return reject(req, reply, 400, 'device_only', `${names[header.pipeline]} runs on the device; there is no tail to serve`);
    }
    if (closing) return reply.code(503).send({ error: 'closing', message: 'the server is shutting down' });
    if (queue.length >= maxQueue) {
      st.failed++;
      log(`503 queue_full: ${queue.length} requests waiting`);
      return reply.code(503).send({ error: 'queue_full', message: `${queue.length} requests are waiting (--max-queue ${maxQueue})` });
    }
    const result = await new Promise<{ status: number; body: object }>((resolve) => {
      const entry: Entry = {
        pipeline: header.pipeline, sample: header.sample, payload: Uint8Array.from(payload), receivedMs, finished: false,
        done: (status, b) => resolve({ status, body: b }),
      };
      // The client went away before its reply: free its place (or let its batch finish unseen).
      reply.raw.on('close', () => {
        if (reply.raw.writableFinished || entry.finished) return;
        st.aborted++;
        const i = queue.indexOf(entry);
        if (i >= 0) queue.splice(i, 1);
        entry.finished = true;
        log(`client went away before its reply (pipeline ${names[header.pipeline]}, sample ${header.sample}${i >= 0 ? ', dropped from the queue' : ', batch running'})`);
        resolve({ status: 499, body: {} });
      });
      queue.push(entry);
      pump();
    });
    if (result.status === 499) return reply;
    return reply.code(result.status).send(result.body);
  });

  function stats(): ServerStats {
    const mem = process.memoryUsage();
    return {
      ...st,
      queued: queue.length,
      inService: slots.reduce((a, s) => a + (s.batch?.entries.length ?? 0), 0),
      workersReady: slots.filter((s) => s.ready).length,
      rssBytes: mem.rss,
      heapUsedBytes: mem.heapUsed,
      uptimeMs: nowMs() - startedMs,
    };
  }

  try {
    for (const s of await Promise.all(Array.from({ length: K }, () => spawn(undefined)))) slots.push(s);
  } catch (e) {
    await Promise.all(slots.map((s) => s.worker.terminate()));
    throw e;
  }
  const address = await app.listen({ host: opts.host ?? '127.0.0.1', port: opts.port ?? 0 });
  const port = (app.server.address() as { port: number }).port;
  pump();
  return {
    url: address.replace('[::1]', 'localhost'),
    port,
    backend,
    pipelines: names,
    stats,
    close: async () => {
      closing = true;
      await app.close();
      clearTimeout(waitTimer);
      await Promise.all(slots.map((s) => s.worker.terminate()));
    },
  };
}
