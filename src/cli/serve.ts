/**
 * `splitsim serve --scenario S`: the tail server of live split inference (src/live/server.ts)
 * for the scenario's pipelines, with its edge policy (workers, maxBatch, maxWaitMs). Prints
 * one JSON line on stdout once it listens ({url, pipelines, ...}); logs on stderr; SIGTERM or
 * SIGINT finish the requests in flight and exit 0.
 */
import type { CommandModule } from 'yargs';
import { loadScenario } from '../config/scenario';
import { ZOO_DIR } from '../model/meta';
import { scenarioPipelines, checkInt, checkMs, checkShare, liveRuntime } from '../live/scenario';
import { startTailServer } from '../live/server';

interface ServeArgs {
  scenario: string;
  pipeline?: string[];
  host: string;
  port: number;
  workers?: number;
  maxBatch?: number;
  maxWaitMs?: number;
  cpuShare?: number;
  runtime?: string;
  maxPayloadBytes: number;
  maxQueue: number;
  requestTimeoutMs: number;
  batchTimeoutMs: number;
}

const command: CommandModule<object, ServeArgs> = {
  command: 'serve',
  describe: "live tail server: decodes requests, runs the pipelines' tails (tfjs or ONNX Runtime), replies with the class (HTTP, 127.0.0.1 unless --host)",
  builder: (y) =>
    y
      .option('scenario', { type: 'string', demandOption: true, describe: 'scenario whose pipelines and edge policy to serve' })
      .option('pipeline', { type: 'string', array: true, describe: "serve only these pipelines (names as printed; default: all the scenario's offloading pipelines)" })
      .option('host', { type: 'string', default: '127.0.0.1', describe: 'address to bind (0.0.0.0: every interface)' })
      .option('port', { type: 'number', default: 0, describe: 'port (0: a free one, printed)' })
      .option('workers', { type: 'number', describe: "worker threads (default: the scenario's edge.workers)" })
      .option('max-batch', { type: 'number', describe: "largest batch (default: the scenario's edge.maxBatch)" })
      .option('max-wait-ms', { type: 'number', describe: "a smaller batch starts once its oldest request waited this long (default: edge.maxWaitMs)" })
      .option('cpu-share', { type: 'number', describe: "share of a core each worker emulates, 0 < s <= 1 (default: the scenario's edge.cpuShare, else 1)" })
      .option('runtime', { type: 'string', describe: 'model runtime: tfjs or onnxruntime (default: SPLITSIM_RUNTIME, else tfjs)' })
      .option('max-payload-bytes', { type: 'number', default: 1 << 20, describe: 'larger payloads are refused (413) before they are read' })
      .option('max-queue', { type: 'number', default: 4096, describe: 'requests waiting beyond this get 503' })
      .option('request-timeout-ms', { type: 'number', default: 10000, describe: 'a request not received whole in this time gets 408' })
      .option('batch-timeout-ms', { type: 'number', default: 30000, describe: 'a batch running longer stops its worker (500; a new worker starts)' }) as never,
  handler: async (args) => {
    checkInt(args.port, '--port', 0, 65535);
    checkInt(args.workers, '--workers', 1, 64);
    checkInt(args.maxBatch, '--max-batch', 1, 1024);
    checkMs(args.maxWaitMs, '--max-wait-ms');
    checkInt(args.maxPayloadBytes, '--max-payload-bytes', 1, 1 << 30);
    checkInt(args.maxQueue, '--max-queue', 1, 1 << 24);
    checkInt(args.requestTimeoutMs, '--request-timeout-ms', 1, 3600000);
    checkInt(args.batchTimeoutMs, '--batch-timeout-ms', 1, 3600000);
    checkShare(args.cpuShare, '--cpu-share');
    const runtime = liveRuntime(args.runtime);
    const loaded = loadScenario(args.scenario);
    const refs = scenarioPipelines(loaded, args.pipeline);
    const e = loaded.scenario.edge;
    const log = (m: string) => process.stderr.write(`splitsim serve: ${m}\n`);
    const server = await startTailServer({
      refs, zooDir: ZOO_DIR, host: args.host, port: args.port,
      workers: args.workers ?? e.workers, maxBatch: args.maxBatch ?? e.maxBatch, maxWaitMs: args.maxWaitMs ?? e.maxWaitMs,
      cpuShare: args.cpuShare ?? e.cpuShare ?? 1, runtime,
      maxPayloadBytes: args.maxPayloadBytes, maxQueue: args.maxQueue, requestTimeoutMs: args.requestTimeoutMs, batchTimeoutMs: args.batchTimeoutMs, log,
    });
    process.stdout.write(JSON.stringify({ url: server.url, port: server.port, pid: process.pid, backend: server.backend, pipelines: server.pipelines }) + '\n');
    await new Promise<void>((resolve) => {
      const stop = (sig: string) => {
        log(`${sig}: finishing the requests in flight`);
        server.close().then(() => {
          const s = server.stats();
          log(`stopped: ${s.received} received, ${s.completed} completed, ${s.rejected} rejected, ${s.aborted} aborted, ${s.failed} failed`);
          resolve();
        }, (err) => { log(`error while closing: ${(err as Error).message}`); resolve(); });
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
  },
};

export default command;
