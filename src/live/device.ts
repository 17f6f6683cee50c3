/**
 * The head client of live runs (`splitsim device`): plays the devices of a scenario for one
 * pipeline. The arrivals and the test sample of every request are the simulator's own (the
 * schedule is read from `simulate`'s run of the same scenario, so live and predicted
 * requests carry the same samples in the same order); at each arrival the device runs the
 * head and the encoder for real on that test image, sends the bitstream to the server (one
 * URL per device, e.g. the shaper's ports), and logs the request's timeline in the columns
 * of `simulate --requests-csv`. Devices share this process's thread: a device's compute
 * waits while another device's runs (its device_start_ms shows it).
 */
import * as http from 'http';
import type { ImageSet } from '../data/fashion';
import { RequestStatus, RequestTable } from '../sim/requests';
import type { PipelineRun } from '../sim/system';
import type { LivePipeline } from './pipeline';
import { DROPPED_HEADER, encodeRequest, INFER_PATH, type InferReply } from './protocol';

/** One request to play: when, from which device, with which test sample. */
export interface ScheduledRequest {
  id: number;
  device: number;
  /** Arrival (capture) time from the run's start, ms. */
  arrivalMs: number;
  /** Index into the measured samples (as in requests.csv) and into the test set. */
  sample: number;
  index: number;
  measured: boolean;
}

/** The simulator's arrivals and samples of a run kept with keepRequests, in arrival order. */
export function scheduleOf(run: PipelineRun, sampleIndices: readonly number[]): ScheduledRequest[] {
  const T = run.requests;
  const out: ScheduledRequest[] = [];
  for (let i = 0; i < T.count; i++) {
    const k = T.sample[i];
    if (k < 0 || k >= sampleIndices.length) throw new Error(`request ${i} of the predicted run has no measured sample`);
    out.push({ id: T.id[i], device: T.device[i], arrivalMs: T.arrivalMs[i], sample: k, index: sampleIndices[k], measured: T.measured[i] === 1 });
  }
  return out;
}

/** Options of a device run. */
export interface DeviceRunOptions {
  pipeline: LivePipeline;
  /** The pipeline's id on the server (GET /v1/pipelines). */
  pipelineId: number;
  data: ImageSet;
  schedule: ScheduledRequest[];
  /** Server URL per device (device d sends to targets[d % targets.length]). */
  targets: string[];
  /** Epoch ms of the run's time 0 (the first arrival is scheduleOf's arrivalMs after it). */
  originMs: number;
  /** A request without a reply after this is given up (status in_system, counted as failed). */
  timeoutMs?: number;
  log?: (msg: string) => void;
}

/** What a device run recorded. */
export interface DeviceRun {
  /** Every request's timeline by id (times from originMs; server times on its clock). */
  requests: RequestTable;
  /** Class each request got (-1: none). */
  classes: Int32Array;
  /** Requests without an answer, with the reason. */
  failures: Array<{ id: number; reason: string }>;
  /** Reply body bytes per request. */
  replyBytes: Float64Array;
  /** Epoch ms when the last request finished. */
  endEpochMs: number;
}

/** Idle keep-alive connections of a device are closed after this (below the server's KEEP_ALIVE_MS). */
const IDLE_CLOSE_MS = 30000;

function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

/** Plays a schedule; resolves once every request has an outcome. */
export function runDevices(opts: DeviceRunOptions): Promise<DeviceRun> {
  const { pipeline, schedule, data } = opts;
  const n = schedule.length;
  const T = new RequestTable(n + 1);
  const classes = new Int32Array(n).fill(-1);
  const replyBytes = new Float64Array(n);
  const failures: DeviceRun['failures'] = [];
  const log = opts.log ?? (() => undefined);
  const timeoutMs = opts.timeoutMs ?? 30000;
  const origin = opts.originMs;
  const nDev = schedule.reduce((m, r) => Math.max(m, r.device + 1), 0);
  // Idle connections are closed by the device well before the server would close them: a
  // close by the server races with a request sent on the connection (the shaper even delays
  // its FIN by the downlink's time), which would lose that request.
  const agents = Array.from({ length: nDev }, () => new http.Agent({ keepAlive: true, maxSockets: Infinity, timeout: IDLE_CLOSE_MS }));
  const queues: ScheduledRequest[][] = Array.from({ length: nDev }, () => []);
  const busy = new Uint8Array(nDev);
  const slot = new Map<number, number>();
  schedule.forEach((r, i) => {
    slot.set(r.id, i);
    T.ensure(i);
    T.count = Math.max(T.count, i + 1);
    T.reset(i);
    T.id[i] = r.id;
    T.device[i] = r.device;
    T.measured[i] = r.measured ? 1 : 0;
    T.sample[i] = r.sample;
    T.arrivalMs[i] = r.arrivalMs;
  });
  let left = n;
  let endEpochMs = origin;
  const rel = (epoch: number) => epoch - origin;

  return new Promise((resolveAll) => {
    const finished = (i: number) => {
      endEpochMs = Math.max(endEpochMs, epochMs());
      if (--left === 0) {
        for (const a of agents) a.destroy();
        resolveAll({ requests: T, classes, failures, replyBytes, endEpochMs });
      }
    };
    const fail = (i: number, reason: string, status: number = RequestStatus.InSystem) => {
      if (T.status[i] !== RequestStatus.InSystem || !Number.isNaN(T.endMs[i])) return;
      T.status[i] = status;
      T.endMs[i] = rel(epochMs());
      if (status === RequestStatus.InSystem) {
        failures.push({ id: T.id[i], reason });
        log(`request ${T.id[i]} (device ${T.device[i]}): ${reason}`);
      }
      finished(i);
    };

    const send = (i: number, d: number, body: Buffer) => {
      const url = new URL(INFER_PATH, opts.targets[d % opts.targets.length]);
      const req = http.request({
        agent: agents[d], method: 'POST', host: url.hostname, port: url.port, path: url.pathname,
        headers: { 'content-type': 'application/octet-stream', 'content-length': body.length },
      });
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`no reply within ${timeoutMs} ms`)));
      let gotReply = false;
      req.on('response', (res) => {
        gotReply = true;
        const parts: Buffer[] = [];
        res.on('data', (b: Buffer) => parts.push(b));
        res.on('error', (e) => fail(i, `reply broken off: ${e.message}`, RequestStatus.DroppedDownlink));
        res.on('end', () => {
          const end = epochMs();
          const text = Buffer.concat(parts);
          replyBytes[i] = text.length;
          const dropped = res.headers[DROPPED_HEADER];
          if (res.statusCode === 502 && (dropped === 'uplink' || dropped === 'downlink')) {
            fail(i, `${dropped} lost it`, dropped === 'uplink' ? RequestStatus.DroppedUplink : RequestStatus.DroppedDownlink);
            return;
          }
          if (res.statusCode !== 200) {
            fail(i, `server replied ${res.statusCode}: ${text.toString('utf8').slice(0, 200)}`);
            return;
          }
          let r: InferReply;
          try {
            r = JSON.parse(text.toString('utf8')) as InferReply;
          } catch {
            fail(i, 'reply is not JSON');
            return;
          }
          T.edgeArrivalMs[i] = rel(r.receivedMs);
          T.edgeStartMs[i] = rel(r.startMs);
          T.edgeEndMs[i] = rel(r.endMs);
          T.edgeMs[i] = r.endMs - r.startMs;
          T.batch[i] = r.batch;
          T.resultBytes[i] = text.length;
          classes[i] = r.class;
          T.correct[i] = r.class === data.labels[schedule[i].index] ? 1 : 0;
          T.endMs[i] = rel(end);
          T.status[i] = RequestStatus.Completed;
          finished(i);
        });
      });
      req.on('error', (e) => fail(i, `request failed: ${e.message}`, gotReply ? RequestStatus.DroppedDownlink : RequestStatus.InSystem));
      req.end(body);
    };

    const work = async (d: number) => {
      busy[d] = 1;
      while (queues[d].length > 0) {
        const r = queues[d].shift()!;
        const i = slot.get(r.id)!;
        T.deviceStartMs[i] = rel(epochMs());
        let payload: Uint8Array;
        let localClass: number | undefined;
        try {
          ({ payload, localClass } = await pipeline.device(data, r.index));
        } catch (e) {
          fail(i, `device compute failed: ${(e as Error).message}`);
          continue;
        }
        const done = epochMs();
        T.deviceEndMs[i] = rel(done);
        T.deviceMs[i] = T.deviceEndMs[i] - T.deviceStartMs[i];
        T.payloadBytes[i] = payload.length;
        if (pipeline.local) {
          T.edgeArrivalMs[i] = T.edgeStartMs[i] = T.edgeEndMs[i] = T.endMs[i] = rel(done);
          classes[i] = localClass!;
          T.correct[i] = localClass === data.labels[r.index] ? 1 : 0;
          T.status[i] = RequestStatus.Completed;
          finished(i);
          continue;
        }
        send(i, d, encodeRequest(opts.pipelineId, r.index, payload));
      }
      busy[d] = 0;
    };

    if (n === 0) {
      resolveAll({ requests: T, classes, failures, replyBytes, endEpochMs });
      return;
    }
    // One timer at a time, for the next arrival in time order.
    const order = schedule.map((_, i) => i).sort((a, b) => schedule[a].arrivalMs - schedule[b].arrivalMs || a - b);
    let next = 0;
    const tick = () => {
      const now = rel(epochMs());
      while (next < n && schedule[order[next]].arrivalMs <= now) {
        const r = schedule[order[next++]];
        queues[r.device].push(r);
        if (!busy[r.device]) void work(r.device);
      }
      if (next < n) setTimeout(tick, Math.max(0, schedule[order[next]].arrivalMs - rel(epochMs())));
    };
    tick();
  });
}
