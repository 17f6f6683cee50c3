import { IntFifo } from './fifo';

/** Where a request stands; stored as one byte per request. */
export const RequestStatus = {
  InSystem: 0,
  Completed: 1,
  DroppedUplink: 2,
  DroppedDownlink: 3,
} as const;

/** Names of RequestStatus values as written to CSV. */
export const STATUS_NAMES = ['in_system', 'completed', 'dropped_uplink', 'dropped_downlink'] as const;

const FLOAT_FIELDS = [
  'arrivalMs',
  'deviceStartMs',
  'deviceEndMs',
  'edgeArrivalMs',
  'edgeStartMs',
  'edgeEndMs',
  'endMs',
  'deviceMs',
  'edgeMs',
  'payloadBytes',
  'resultBytes',
] as const;
type FloatField = (typeof FLOAT_FIELDS)[number];

/**
 * Timelines of requests as columns of typed arrays (struct of arrays), so the simulation
 * allocates no object per request. Timestamps not reached yet are NaN; `endMs` is when the
 * request left the system (completed, or dropped by a link).
 *
 * Used two ways: as the pool of requests in flight (index = a slot, reused once the request
 * has been retired, so memory follows the requests in flight, not the run's length), and,
 * when a caller asks to keep every timeline, as the run's full history (index = request id
 * = arrival order).
 */
export class RequestTable implements Record<FloatField, Float64Array> {
  /** Slots in use (pool) or requests recorded (history). */
  count = 0;
  /** Request id (arrival order) of each slot. */
  id: Float64Array;
  device: Int32Array;
  status: Uint8Array;
  /** 1 when the request arrived after the warm-up (it counts in the statistics). */
  measured: Uint8Array;
  /** Test sample the request carries (measured pipelines), else -1. */
  sample: Int32Array;
  /** 1 correct, 0 wrong, 2 unknown (declared pipelines): the sample's measured outcome. */
  correct: Uint8Array;
  /** Size of the edge batch the request ran in (0 when it never reached the edge). */
  batch: Int32Array;
  arrivalMs!: Float64Array;
  deviceStartMs!: Float64Array;
  deviceEndMs!: Float64Array;
  /** Uplink delivery at the edge server. */
  edgeArrivalMs!: Float64Array;
  edgeStartMs!: Float64Array;
  edgeEndMs!: Float64Array;
  endMs!: Float64Array;
  /** Sampled device compute time. */
  deviceMs!: Float64Array;
  /** Sampled edge compute time. */
  edgeMs!: Float64Array;
  payloadBytes!: Float64Array;
  resultBytes!: Float64Array;

  constructor(capacity = 1024) {
    const cap = Math.max(16, Math.ceil(capacity));
    this.id = new Float64Array(cap);
    this.device = new Int32Array(cap);
    this.status = new Uint8Array(cap);
    this.measured = new Uint8Array(cap);
    this.sample = new Int32Array(cap).fill(-1);
    this.correct = new Uint8Array(cap).fill(2);
    this.batch = new Int32Array(cap);
    for (const f of FLOAT_FIELDS) this[f] = new Float64Array(cap).fill(NaN);
  }

  /** Current capacity. */
  get capacity(): number { return this.device.length; }

  /** Makes room for index i (doubling). */
  ensure(i: number): void {
    while (i >= this.device.length) this.grow();
  }

  /** Clears index i for a new request. */
  reset(i: number): void {
    this.status[i] = 0;
    this.measured[i] = 0;
    this.sample[i] = -1;
    this.correct[i] = 2;
    this.batch[i] = 0;
    for (const f of FLOAT_FIELDS) this[f][i] = NaN;
  }

  /** Copies index `from` of `src` to index `to` of this table. */
  copyFrom(src: RequestTable, from: number, to: number): void {
    this.ensure(to);
    this.id[to] = src.id[from];
    this.device[to] = src.device[from];
    this.status[to] = src.status[from];
    this.measured[to] = src.measured[from];
    this.sample[to] = src.sample[from];
    this.correct[to] = src.correct[from];
    this.batch[to] = src.batch[from];
    for (const f of FLOAT_FIELDS) this[f][to] = src[f][from];
    if (to >= this.count) this.count = to + 1;
  }

  private grow(): void {
    const cap = this.device.length * 2;
    const f64 = (a: Float64Array, fill?: number) => { const b = new Float64Array(cap); if (fill !== undefined) b.fill(fill); b.set(a); return b; };
    const i32 = (a: Int32Array, fill?: number) => { const b = new Int32Array(cap); if (fill !== undefined) b.fill(fill); b.set(a); return b; };
    const u8 = (a: Uint8Array, fill?: number) => { const b = new Uint8Array(cap); if (fill !== undefined) b.fill(fill); b.set(a); return b; };
    this.id = f64(this.id);
    this.device = i32(this.device);
    this.status = u8(this.status);
    this.measured = u8(this.measured);
    this.sample = i32(this.sample, -1);
    this.correct = u8(this.correct, 2);
    this.batch = i32(this.batch);
    for (const f of FLOAT_FIELDS) this[f] = f64(this[f], NaN);
  }
}

/** Called for every request once it has left the system, in arrival order (and at the end for those still in it). */
export type RetireSink = (T: RequestTable, slot: number) => void;

/**
 * The requests in flight: a pool of reusable slots, and the queue of slots in arrival order.
 * A request is retired (handed to the sinks, its slot freed) once it and every request that
 * arrived before it have left, so sinks see requests in arrival order whatever order they
 * finish in, and memory is bounded by the span of requests in flight.
 */
export class RequestPool {
  readonly T: RequestTable;
  /** Requests that have arrived (the next request's id). */
  arrivals = 0;
  private free: number[] = [];
  /** Slots in arrival order, oldest first. */
  private readonly order: IntFifo;

  constructor(capacity: number, private readonly sinks: RetireSink[]) {
    this.T = new RequestTable(capacity);
    this.order = new IntFifo(capacity);
  }

  /** A slot for a request of `device` arriving at `arrivalMs`. */
  add(device: number, arrivalMs: number): number {
    const T = this.T;
    let s: number;
    if (this.free.length > 0) s = this.free.pop()!;
    else {
      s = T.count++;
      T.ensure(s);
    }
    T.reset(s);
    T.id[s] = this.arrivals++;
    T.device[s] = device;
    T.arrivalMs[s] = arrivalMs;
    this.order.push(s);
    return s;
  }

  /** Retires requests from the oldest while they have left the system. */
  retireReady(): void {
    while (this.order.size > 0 && this.T.status[this.order.peek()] !== RequestStatus.InSystem) this.retireHead();
  }

  /** Retires everything left (requests still in the system at the end of a run included). */
  retireAll(): void {
    while (this.order.size > 0) this.retireHead();
  }

  private retireHead(): void {
    const s = this.order.shift();
    for (const sink of this.sinks) sink(this.T, s);
    this.free.push(s);
  }
}

/** A growable Float64Array. */
export class F64List {
  a = new Float64Array(1024);
  n = 0;
  push(x: number): void {
    if (this.n === this.a.length) {
      const b = new Float64Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = x;
  }
  /** The values pushed (a view). */
  values(): Float64Array {
    return this.a.subarray(0, this.n);
  }
}

/**
 * The statistics of a run, accumulated as its requests are retired (arrival order): counts,
 * stage sums, the latencies and payloads of measured requests (for quantiles and batch
 * means), correctness and batching. What summary.csv is computed from.
 */
export class RunLog {
  /** Requests that arrived after the warm-up. */
  n = 0;
  completed = 0;
  dropped = 0;
  inSystem = 0;
  /** Completed requests later than the deadline. */
  late = 0;
  correct = 0;
  /** Completed, correct and on time. */
  onTime = 0;
  stage = { device_queue_ms: 0, device_ms: 0, uplink_ms: 0, edge_queue_ms: 0, edge_ms: 0, downlink_ms: 0 };
  /** End-to-end latency of completed measured requests, in arrival order. */
  readonly e2e = new F64List();
  /** Payload of every measured request. */
  readonly payloads = new F64List();
  payloadSum = 0;
  resultSum = 0;
  deviceMsSum = 0;
  batchSum = 0;
  batched = 0;

  constructor(private readonly deadlineMs: number | undefined) {}

  /** The sink that feeds this log. */
  readonly sink: RetireSink = (T, s) => {
    if (!T.measured[s]) return;
    this.n++;
    this.payloads.push(T.payloadBytes[s]);
    this.payloadSum += T.payloadBytes[s];
    this.resultSum += T.resultBytes[s];
    this.deviceMsSum += T.deviceMs[s];
    if (T.batch[s] > 0) { this.batchSum += T.batch[s]; this.batched++; }
    const st = T.status[s];
    if (st === RequestStatus.InSystem) { this.inSystem++; return; }
    if (st !== RequestStatus.Completed) { this.dropped++; return; }
    this.completed++;
    const a = T.arrivalMs[s], ds = T.deviceStartMs[s], de = T.deviceEndMs[s], ea = T.edgeArrivalMs[s];
    const es = T.edgeStartMs[s], ee = T.edgeEndMs[s], end = T.endMs[s];
    const g = this.stage;
    g.device_queue_ms += ds - a;
    g.device_ms += de - ds;
    g.uplink_ms += ea - de;
    g.edge_queue_ms += es - ea;
    g.edge_ms += ee - es;
    g.downlink_ms += end - ee;
    const lat = end - a;
    this.e2e.push(lat);
    const isLate = this.deadlineMs !== undefined && lat > this.deadlineMs;
    if (isLate) this.late++;
    if (T.correct[s] === 1) {
      this.correct++;
      if (!isLate) this.onTime++;
    }
  };
}

/** A sink that keeps every request's timeline, by request id (for tests and diagnostics). */
export function historySink(history: RequestTable): RetireSink {
  return (T, s) => history.copyFrom(T, s, T.id[s]);
}
