import { Rng } from '../engine/rng';
import { Simulator } from '../engine/simulator';
import { makeSampler, type Sampler } from '../engine/distributions';
import { createDeviceLinks, emptyStats, type Link, type LinkContext, type LinkSpec, type LinkStats } from '../network/link';
import { RadioMeter, type RadioEnergy, type RadioModel } from '../network/radio';
import type { Scenario } from '../config/scenario';
import type { DevicePower, PipelineRecord } from '../pipelines/record';
import { IntFifo } from './fifo';
import { historySink, RequestPool, RequestStatus, RequestTable, RunLog, type RetireSink } from './requests';

/** Builds the per-device links of one direction (default: the network module's factory). */
export type LinkFactory = (spec: LinkSpec, deviceCount: number, ctx: LinkContext) => Link[];

/** Options of one simulation run. */
export interface SimulateOptions {
  /** Overrides the scenario seed. */
  seed?: number;
  /** Replaces createDeviceLinks (tests inject lossy or instrumented links). */
  createLinks?: LinkFactory;
  /** Device power, for compute energy per request. */
  power?: DevicePower;
  /** Radio power model of the devices, for radio energy per request. */
  radio?: RadioModel;
  /** Keep every request's timeline in `requests` (memory grows with the run; tests, diagnostics). */
  keepRequests?: boolean;
  /** Also hand every retired request to this sink (e.g. a requests.csv writer), in arrival order. */
  sink?: RetireSink;
  /** Called every 2^20 events with the simulator (progress, budget guards; may throw to abort). */
  onTick?: (sim: Simulator) => void;
}

/** Energy the devices spent over a run (all devices, all requests). */
export interface RunEnergy {
  /** Compute: active power while the device computes, idle power otherwise, mJ. */
  computeMj: number;
  /** Radio (absent without a radio model), mJ, with its parts. */
  radio?: RadioEnergy;
  /** Device busy time summed over devices, ms. */
  busyMs: number;
}

/** Everything one pipeline's run produced: the raw timelines plus run-level accounting. */
export interface PipelineRun {
  scenarioName: string;
  pipeline: PipelineRecord;
  seed: number;
  /** The statistics of the measured requests (always). */
  log: RunLog;
  /** Requests that arrived (warm-up included). */
  arrivals: number;
  /** Every request's timeline by id, when keepRequests was asked for; else an empty table. */
  requests: RequestTable;
  /** Requests with id >= this are measured (ids follow arrival order); earlier ones are warm-up. */
  firstMeasuredId: number;
  /** Simulated time at which the warm-up ended (ms). */
  warmupEndMs: number;
  /** Simulated time at which the run ended (ms). */
  endMs: number;
  /** Integral of the number of requests in the system over [0, endMs] (request·ms). */
  areaInSystemMs: number;
  /** Same integral over [warmupEndMs, endMs]. */
  areaInSystemMeasuredMs: number;
  /** Requests still in the system when the run ended (0 after a drain). */
  inSystemAtEnd: number;
  /** Total time edge workers spent computing (ms). */
  edgeBusyMs: number;
  edgeWorkers: number;
  /** Batches the edge ran and the largest batch size allowed. */
  edgeBatches: number;
  maxBatch: number;
  /** Energy over the run (compute with a device power; radio with a radio model). */
  energy: RunEnergy;
  /** The device power the compute energy used. */
  power?: DevicePower;
  events: number;
  uplink: LinkStats;
  downlink: LinkStats;
}

function sumStats(links: Link[]): LinkStats {
  const total = emptyStats();
  const seen = new Set<Link>();
  for (const l of links) {
    if (seen.has(l)) continue; // a shared link appears once per device
    seen.add(l);
    const s = l.stats();
    for (const k of Object.keys(total) as Array<keyof LinkStats>) total[k] += s[k];
  }
  return total;
}

/** Airtime of one full packet at the link's slowest positive rate (ms; 1 s for traces). */
function maxAirtimeMs(spec: LinkSpec): number {
  const bits = (spec.mtuBytes + spec.linkOverheadBytes) * 8;
  if (spec.type === 'constant') return (bits * 1000) / spec.rateBps;
  if (spec.type === 'markov') return (bits * 1000) / Math.min(...spec.states.filter((x) => x.rateBps > 0).map((x) => x.rateBps));
  return 1000;
}

/** Rough number of arrivals, to size the request table once. */
function expectedRequests(s: Scenario): number {
  if (s.duration.requests !== undefined) return s.duration.requests;
  const secs = s.duration.seconds!;
  const a = s.devices.arrival;
  const perDevice = a.type === 'periodic' ? a.fps * secs + 1 : a.type === 'poisson' ? a.ratePerS * secs * 1.05 + 16 : 1024;
  return Math.min(perDevice * s.devices.count, 1 << 24);
}

/**
 * The split-computing system for one pipeline: arrival → device queue → device compute
 * (one processor per device) → uplink (one per device) → edge queue (FIFO, K workers
 * shared by all devices) → edge compute → downlink → done. A link that gives up on a
 * payload drops the request.
 *
 * Random streams are keyed by component and device, not by pipeline, and each request's
 * costs are drawn when it arrives, so every pipeline sees the same arrivals and the same
 * underlying draws (common random numbers): differences between pipelines are not noise.
 *
 * State lives in fields and typed arrays rather than closure variables, because V8 boxes
 * doubles that closures capture and mutate, which would allocate on every event.
 */
class SplitSystem {
  readonly sim = new Simulator();
  readonly T: RequestTable;
  readonly pool: RequestPool;
  private readonly nDev: number;
  private readonly local: boolean;
  private readonly arrivalRng: Rng[] = [];
  private readonly deviceMsRng: Rng[] = [];
  private readonly payloadRng: Rng[] = [];
  private readonly edgeMsRng: Rng[] = [];
  private readonly resultRng: Rng[] = [];
  private readonly uplinks: Link[];
  private readonly downlinks: Link[];
  private readonly evArrival: number;
  private readonly evDeviceDone: number;
  private readonly evEdgeDone: number;

  // Stop rule for arrivals.
  private readonly maxRequests: number;
  private readonly arrivalsEndMs: number;
  private readonly warmupRequests: number;
  private readonly timedWarmup: boolean;
  private arrivalsOpen = true;
  private readonly drain: boolean;
  /** Devices whose arrival process has not passed the end of the duration yet. */
  private openDevices: number;

  // Arrival processes.
  private readonly arrivalType: 'periodic' | 'poisson' | 'closed';
  private readonly periodMs: number = 0;
  private readonly jitterMs: number = 0;
  private readonly meanGapMs: number = 0;
  private readonly thinkMs: Sampler | undefined;
  private readonly frameIndex: Float64Array;
  private readonly phaseMs: Float64Array;

  // Resources.
  private readonly deviceQueue: IntFifo[] = [];
  private readonly deviceBusy: Uint8Array;
  private readonly edgeQueue = new IntFifo(256);
  private freeWorkers: number;
  private readonly maxBatch: number;
  private readonly maxWaitMs: number;
  private readonly evBatchTimer: number;
  private readonly evBatchDone: number;
  private batchTimerAtMs = -1;
  /** Members of batches in service, by batch slot (batching only). */
  private readonly batchMembers: Int32Array[] = [];
  private readonly freeBatchSlots: number[] = [];
  edgeBatches = 0;

  // Measured pipelines: per-sample values and the batch curve of the tail.
  private readonly nSamples: number;
  /** A seeded order of the samples, used up one per request, then reshuffled. */
  private readonly sampleOrder: Int32Array;
  private samplePos: number;
  private readonly sampleRng: Rng;
  private readonly tailBatchMs: Float64Array | undefined;

  // Energy.
  readonly deviceBusyMs: Float64Array;
  readonly radios: RadioMeter[] = [];

  // Accounting of N(t), the number of requests in the system.
  inSystem = 0;
  private lastChangeMs = 0;
  area = 0;
  areaAtWarmup = 0;
  warmupEndMs: number;
  firstMeasuredId: number;
  /** A time-based warm-up is snapshotted by the first state change at or after it (an
   * event would stretch a run that ends before it). */
  private warmupPending: boolean;
  edgeBusyMs = 0;

  constructor(readonly scenario: Scenario, readonly pipeline: PipelineRecord, readonly seed: number, createLinks: LinkFactory, radio: RadioModel | undefined, sinks: RetireSink[]) {
    const root = new Rng(seed, 'scenario');
    const sim = this.sim;
    const nDev = (this.nDev = scenario.devices.count);
    this.local = pipeline.local === true;
    this.pool = new RequestPool(Math.min(expectedRequests(scenario) + 1, 4096), sinks);
    this.T = this.pool.T;
    for (let d = 0; d < nDev; d++) {
      this.arrivalRng.push(root.fork(`device[${d}].arrival`));
      this.deviceMsRng.push(root.fork(`device[${d}].deviceMs`));
      this.payloadRng.push(root.fork(`device[${d}].payloadBytes`));
      this.edgeMsRng.push(root.fork(`device[${d}].edgeMs`));
      this.resultRng.push(root.fork(`device[${d}].resultBytes`));
      this.deviceQueue.push(new IntFifo());
    }
    this.deviceBusy = new Uint8Array(nDev);
    this.deviceBusyMs = new Float64Array(nDev);
    this.openDevices = nDev;
    this.drain = scenario.drain;
    this.freeWorkers = scenario.edge.workers;
    this.maxBatch = scenario.edge.maxBatch ?? 1;
    this.maxWaitMs = scenario.edge.maxWaitMs ?? 0;
    this.nSamples = pipeline.samples?.bytes.length ?? 0;
    this.sampleOrder = Int32Array.from({ length: this.nSamples }, (_, i) => i);
    this.samplePos = this.nSamples;
    this.sampleRng = root.fork('samples');
    this.tailBatchMs = pipeline.tailBatchMs;
    if (pipeline.samples && this.nSamples === 0) throw new Error(`pipeline ${pipeline.name}: no measured samples`);
    if (pipeline.tailBatchMs && !pipeline.local && pipeline.tailBatchMs.length < this.maxBatch) {
      throw new Error(`pipeline ${pipeline.name}: tail times for batches up to ${pipeline.tailBatchMs.length}, the edge batches up to ${this.maxBatch}`);
    }
    if (radio) {
      // Intervals reach a meter out of order by at most the downlink's propagation (and
      // jitter) plus the longest uplink packet's airtime at the link's slowest rate.
      const reorder = scenario.downlink.delayMs + 10 * scenario.downlink.jitterMs + maxAirtimeMs(scenario.uplink) + 10 * scenario.uplink.jitterMs;
      for (let d = 0; d < nDev; d++) this.radios.push(new RadioMeter(radio, reorder));
    }

    this.maxRequests = scenario.duration.requests ?? Infinity;
    this.arrivalsEndMs = scenario.duration.seconds !== undefined ? scenario.duration.seconds * 1000 : Infinity;
    this.warmupRequests = scenario.warmup.requests ?? 0;
    this.timedWarmup = scenario.warmup.seconds !== undefined;
    this.warmupEndMs = this.timedWarmup ? scenario.warmup.seconds! * 1000 : NaN;
    this.firstMeasuredId = this.timedWarmup ? -1 : this.warmupRequests;
    this.warmupPending = this.timedWarmup;

    this.evArrival = sim.register((d) => this.arrive(d));
    this.evDeviceDone = sim.register((id) => this.deviceDone(id));
    this.evEdgeDone = sim.register((id) => this.edgeDone(id));
    this.evBatchTimer = sim.register(() => { this.batchTimerAtMs = -1; this.startEdgeWork(); });
    this.evBatchDone = sim.register((slot) => this.batchDone(slot));
    // The device's radio sends uplink packets as they leave the bottleneck; it receives downlink
    // packets when they arrive, the link's propagation delay after they leave it.
    const downShift = scenario.downlink.delayMs;
    const air = (up: boolean) => (this.radios.length === 0 ? undefined : up
      ? (dev: number, s: number, e: number, b: number) => this.radios[dev].airtime(true, s, e, b, this.sim.nowMs)
      : (dev: number, s: number, e: number, b: number) => this.radios[dev].airtime(false, s + downShift, e + downShift, b, this.sim.nowMs));
    this.uplinks = createLinks(scenario.uplink, nDev, { sim, rng: root.fork('uplink'), name: 'uplink', onDelivered: (id, ok) => this.uplinkDelivered(id, ok), onAirtime: air(true) });
    this.downlinks = createLinks(scenario.downlink, nDev, { sim, rng: root.fork('downlink'), name: 'downlink', onDelivered: (id, ok) => this.downlinkDelivered(id, ok), onAirtime: air(false) });

    const a = scenario.devices.arrival;
    this.arrivalType = a.type;
    this.frameIndex = new Float64Array(nDev);
    this.phaseMs = new Float64Array(nDev);
    if (a.type === 'periodic') {
      this.periodMs = 1000 / a.fps;
      this.jitterMs = a.jitterMs;
      if (a.phase === 'random') for (let d = 0; d < nDev; d++) this.phaseMs[d] = this.arrivalRng[d].uniform() * this.periodMs;
    } else if (a.type === 'poisson') {
      this.meanGapMs = 1000 / a.ratePerS;
    } else {
      this.thinkMs = makeSampler(a.thinkMs);
    }
  }

  /** Runs to the end (drained, or cut at the end of arrivals) and returns the end time. */
  run(): number {
    for (let d = 0; d < this.nDev; d++) this.scheduleNextArrival(d);
    this.sim.run(this.drain ? Infinity : this.arrivalsEndMs);
    const endMs = this.sim.nowMs;
    this.accrue(endMs);
    this.pool.retireAll();
    if (this.firstMeasuredId < 0) this.firstMeasuredId = this.pool.arrivals;
    if (Number.isNaN(this.warmupEndMs) || this.warmupEndMs > endMs) {
      // The run ended inside the warm-up: nothing was measured.
      this.warmupEndMs = endMs;
      this.areaAtWarmup = this.area;
    }
    return endMs;
  }

  linkStats(): { uplink: LinkStats; downlink: LinkStats } {
    return { uplink: sumStats(this.uplinks), downlink: sumStats(this.downlinks) };
  }

  private accrue(now: number): void {
    if (this.warmupPending && now >= this.warmupEndMs) {
      this.areaAtWarmup = this.area + this.inSystem * (this.warmupEndMs - this.lastChangeMs);
      this.warmupPending = false;
    }
    this.area += this.inSystem * (now - this.lastChangeMs);
    this.lastChangeMs = now;
  }

  // --- arrival processes -------------------------------------------------------------

  /** Absolute time of device d's next arrival. */
  private nextArrivalMs(d: number): number {
    switch (this.arrivalType) {
      case 'periodic': {
        // Frame k arrives at phase + k·period + U[0, jitter); jitter < period keeps frames in order.
        const k = this.frameIndex[d]++;
        const j = this.jitterMs > 0 ? this.arrivalRng[d].uniform() * this.jitterMs : 0;
        return this.phaseMs[d] + k * this.periodMs + j;
      }
      case 'poisson':
        return this.sim.nowMs + this.arrivalRng[d].exponential(this.meanGapMs);
      case 'closed':
        return this.sim.nowMs + this.thinkMs!(this.arrivalRng[d]);
    }
  }

  /**
   * No request will arrive any more. Once the last one has left, the run is over: stop
   * there, so that arrival events that will never fire and idle link timers do not
   * stretch the end time.
   */
  private closeArrivals(): void {
    this.arrivalsOpen = false;
    if (this.drain && this.inSystem === 0) this.sim.stop();
  }

  private scheduleNextArrival(d: number): void {
    if (!this.arrivalsOpen) return;
    const t = this.nextArrivalMs(d);
    if (t >= this.arrivalsEndMs) {
      if (--this.openDevices === 0) this.closeArrivals();
      return;
    }
    const now = this.sim.nowMs;
    // max(): rounding must not put a periodic frame an ulp before now.
    this.sim.scheduleAt(t > now ? t : now, this.evArrival, d);
  }

  private arrive(d: number): void {
    if (!this.arrivalsOpen) return;
    const T = this.T;
    const now = this.sim.nowMs;
    const n = this.pool.arrivals;
    if (this.firstMeasuredId < 0 && now >= this.warmupEndMs) this.firstMeasuredId = n;
    if (!this.timedWarmup && n === this.warmupRequests) {
      this.accrue(now);
      this.areaAtWarmup = this.area;
      this.warmupEndMs = now;
    }
    const id = this.pool.add(d, now);
    T.measured[id] = this.firstMeasuredId >= 0 && n >= this.firstMeasuredId ? 1 : 0;
    const p = this.pipeline;
    const ps = p.samples;
    if (ps) {
      const k = this.nextSample();
      T.sample[id] = k;
      T.correct[id] = ps.correct[k];
      T.deviceMs[id] = ps.deviceMs[k];
      T.payloadBytes[id] = p.local ? 0 : ps.bytes[k];
      T.edgeMs[id] = p.local ? 0 : ps.decodeMs[k] + this.tailBatchMs![0];
    } else {
      T.deviceMs[id] = p.deviceMs!(this.deviceMsRng[d]);
      T.payloadBytes[id] = p.payloadBytes!(this.payloadRng[d]);
      T.edgeMs[id] = p.edgeMs!(this.edgeMsRng[d]);
    }
    T.resultBytes[id] = p.local ? 0 : p.resultBytes(this.resultRng[d]);
    this.accrue(now);
    this.inSystem++;
    if (this.pool.arrivals >= this.maxRequests) {
      this.closeArrivals();
      if (!this.drain) this.sim.stop();
    }
    if (this.deviceBusy[d] === 0) this.startDevice(d, id);
    else this.deviceQueue[d].push(id);
    if (this.arrivalType !== 'closed') this.scheduleNextArrival(d);
  }

  /**
   * The test sample of the next request (in arrival order). Requests go through the measured
   * samples in a seeded random order without repeats (a new order once all are used), so a
   * run's request-level accuracy tracks the samples' accuracy closely; the order depends only
   * on the 'samples' stream, so every pipeline's j-th request carries the same sample
   * (common random numbers).
   */
  private nextSample(): number {
    const order = this.sampleOrder;
    const n = this.nSamples;
    if (this.samplePos === n) {
      const rng = this.sampleRng;
      for (let i = n - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        const t = order[i]; order[i] = order[j]; order[j] = t;
      }
      this.samplePos = 0;
    }
    return order[this.samplePos++];
  }

  // --- device ------------------------------------------------------------------------

  private startDevice(d: number, id: number): void {
    this.deviceBusy[d] = 1;
    this.deviceBusyMs[d] += this.T.deviceMs[id];
    this.T.deviceStartMs[id] = this.sim.nowMs;
    this.sim.schedule(this.T.deviceMs[id], this.evDeviceDone, id);
  }

  private deviceDone(id: number): void {
    const T = this.T;
    const now = this.sim.nowMs;
    const d = T.device[id];
    T.deviceEndMs[id] = now;
    if (this.local) {
      T.edgeArrivalMs[id] = now;
      T.edgeStartMs[id] = now;
      T.edgeEndMs[id] = now;
      this.leave(id, RequestStatus.Completed);
    } else {
      this.uplinks[d].send(id, T.payloadBytes[id], d);
    }
    const next = this.deviceQueue[d].shift();
    if (next >= 0) this.startDevice(d, next);
    else this.deviceBusy[d] = 0;
  }

  // --- uplink → edge -----------------------------------------------------------------

  private uplinkDelivered(id: number, ok: boolean): void {
    if (!ok) {
      this.leave(id, RequestStatus.DroppedUplink);
      return;
    }
    this.T.edgeArrivalMs[id] = this.sim.nowMs;
    if (this.maxBatch === 1) {
      if (this.freeWorkers > 0) {
        this.freeWorkers--;
        this.startEdge(id);
      } else {
        this.edgeQueue.push(id);
      }
      return;
    }
    this.edgeQueue.push(id);
    this.startEdgeWork();
  }

  private startEdge(id: number): void {
    this.T.edgeStartMs[id] = this.sim.nowMs;
    this.T.batch[id] = 1;
    this.edgeBatches++;
    this.sim.schedule(this.T.edgeMs[id], this.evEdgeDone, id);
  }

  private edgeDone(id: number): void {
    const T = this.T;
    const now = this.sim.nowMs;
    T.edgeEndMs[id] = now;
    this.edgeBusyMs += now - T.edgeStartMs[id];
    const d = T.device[id];
    this.downlinks[d].send(id, T.resultBytes[id], d);
    const next = this.edgeQueue.shift();
    if (next >= 0) this.startEdge(next);
    else this.freeWorkers++;
  }

  /**
   * Dynamic batching (maxBatch > 1): a free worker takes a full batch at once; a smaller one
   * once its oldest request has waited maxWaitMs (a timer fires then). A batch costs the
   * decodes of its requests plus the tail at that batch size (measured pipelines), or the
   * sum of its requests' edge times (declared pipelines: no batching gain is assumed).
   */
  private startEdgeWork(): void {
    const q = this.edgeQueue;
    const now = this.sim.nowMs;
    while (this.freeWorkers > 0 && q.size > 0) {
      const oldest = q.peek();
      const due = this.T.edgeArrivalMs[oldest] + this.maxWaitMs;
      if (q.size < this.maxBatch && due > now) {
        if (this.batchTimerAtMs !== due) {
          this.batchTimerAtMs = due;
          this.sim.scheduleAt(due, this.evBatchTimer, 0);
        }
        return;
      }
      const b = Math.min(q.size, this.maxBatch);
      const slot = this.freeBatchSlots.length > 0 ? this.freeBatchSlots.pop()! : this.batchMembers.length;
      if (slot === this.batchMembers.length) this.batchMembers.push(new Int32Array(this.maxBatch + 1));
      const members = this.batchMembers[slot];
      members[0] = b;
      let service = this.tailBatchMs ? this.tailBatchMs[b - 1] : 0;
      for (let i = 1; i <= b; i++) {
        const id = q.shift();
        members[i] = id;
        this.T.edgeStartMs[id] = now;
        this.T.batch[id] = b;
        const k = this.T.sample[id];
        service += this.tailBatchMs ? this.pipeline.samples!.decodeMs[k] : this.T.edgeMs[id];
      }
      this.freeWorkers--;
      this.edgeBatches++;
      this.edgeBusyMs += service;
      this.sim.schedule(service, this.evBatchDone, slot);
    }
  }

  private batchDone(slot: number): void {
    const members = this.batchMembers[slot];
    const now = this.sim.nowMs;
    for (let i = 1; i <= members[0]; i++) {
      const id = members[i];
      this.T.edgeEndMs[id] = now;
      const d = this.T.device[id];
      this.downlinks[d].send(id, this.T.resultBytes[id], d);
    }
    this.freeBatchSlots.push(slot);
    this.freeWorkers++;
    this.startEdgeWork();
  }

  // --- downlink → done ---------------------------------------------------------------

  private downlinkDelivered(id: number, ok: boolean): void {
    this.leave(id, ok ? RequestStatus.Completed : RequestStatus.DroppedDownlink);
  }

  private leave(id: number, status: number): void {
    const now = this.sim.nowMs;
    this.T.endMs[id] = now;
    this.T.status[id] = status;
    const closed = this.arrivalType === 'closed' ? this.T.device[id] : -1;
    this.pool.retireReady();
    this.accrue(now);
    this.inSystem--;
    if (closed >= 0) this.scheduleNextArrival(closed);
    if (!this.arrivalsOpen && this.drain && this.inSystem === 0) this.sim.stop();
  }
}

/** Simulates one pipeline over a scenario (see SplitSystem) and returns its timelines. */
export function simulatePipeline(scenario: Scenario, pipeline: PipelineRecord, opts: SimulateOptions = {}): PipelineRun {
  const seed = opts.seed ?? scenario.seed;
  const log = new RunLog(pipeline.deadlineMs);
  const history = opts.keepRequests ? new RequestTable(expectedRequests(scenario) + 1) : new RequestTable(16);
  const sinks = [log.sink, ...(opts.keepRequests ? [historySink(history)] : []), ...(opts.sink ? [opts.sink] : [])];
  const m = new SplitSystem(scenario, pipeline, seed, opts.createLinks ?? createDeviceLinks, opts.radio, sinks);
  if (opts.onTick) m.sim.onTick = () => opts.onTick!(m.sim);
  const endMs = m.run();
  let busyMs = 0;
  for (let d = 0; d < m.deviceBusyMs.length; d++) busyMs += m.deviceBusyMs[d];
  const devices = m.deviceBusyMs.length;
  const computeMj = opts.power ? opts.power.activeW * busyMs + opts.power.idleW * Math.max(0, devices * endMs - busyMs) : NaN;
  let radio: RadioEnergy | undefined;
  for (const r of m.radios) {
    const e = r.finish();
    if (!radio) radio = { ...e };
    else for (const k of Object.keys(e) as Array<keyof RadioEnergy>) radio[k] += e[k];
  }
  return {
    scenarioName: scenario.name,
    pipeline,
    seed,
    log,
    arrivals: m.pool.arrivals,
    requests: history,
    firstMeasuredId: Math.min(m.firstMeasuredId, m.pool.arrivals),
    warmupEndMs: m.warmupEndMs,
    endMs,
    areaInSystemMs: m.area,
    areaInSystemMeasuredMs: m.area - m.areaAtWarmup,
    inSystemAtEnd: m.inSystem,
    edgeBusyMs: m.edgeBusyMs,
    edgeWorkers: scenario.edge.workers,
    edgeBatches: m.edgeBatches,
    maxBatch: scenario.edge.maxBatch ?? 1,
    energy: { computeMj, radio, busyMs },
    power: opts.power,
    events: m.sim.eventsProcessed,
    ...m.linkStats(),
  };
}

/** Simulates every pipeline over the same scenario and seed streams. */
export function simulateScenario(
  scenario: Scenario,
  pipelines: PipelineRecord[],
  opts: SimulateOptions & {
    sinkFor?: (p: PipelineRecord) => RetireSink | undefined;
    tickFor?: (p: PipelineRecord, index: number) => ((sim: Simulator) => void) | undefined;
    /** Called when a pipeline's run is done. */
    onDone?: (index: number) => void;
  } = {},
): PipelineRun[] {
  return pipelines.map((p, i) => {
    const run = simulatePipeline(scenario, p, { ...opts, sink: opts.sinkFor?.(p) ?? opts.sink, onTick: opts.tickFor?.(p, i) ?? opts.onTick });
    opts.onDone?.(i);
    return run;
  });
}
