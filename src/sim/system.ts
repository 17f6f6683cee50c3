import { Rng } from '../engine/rng';
import { Simulator } from '../engine/simulator';
import { makeSampler, type Sampler } from '../engine/distributions';
import { createDeviceLinks, emptyStats, type Link, type LinkContext, type LinkSpec, type LinkStats } from '../network/link';
import type { Scenario } from '../config/scenario';
import type { ResolvedPipeline } from './pipeline';
import { IntFifo } from './fifo';
import { RequestStatus, RequestTable } from './requests';

/** Builds the per-device links of one direction (default: the network module's factory). */
export type LinkFactory = (spec: LinkSpec, deviceCount: number, ctx: LinkContext) => Link[];

/** Options of one simulation run. */
export interface SimulateOptions {
  /** Overrides the scenario seed. */
  seed?: number;
  /** Replaces createDeviceLinks (tests inject lossy or instrumented links). */
  createLinks?: LinkFactory;
}

/** Everything one pipeline's run produced: the raw timelines plus run-level accounting. */
export interface PipelineRun {
  scenarioName: string;
  pipeline: ResolvedPipeline;
  seed: number;
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

  constructor(readonly scenario: Scenario, readonly pipeline: ResolvedPipeline, readonly seed: number, createLinks: LinkFactory) {
    const root = new Rng(seed, 'scenario');
    const sim = this.sim;
    const nDev = (this.nDev = scenario.devices.count);
    this.local = pipeline.local === true;
    this.T = new RequestTable(expectedRequests(scenario) + 1);
    for (let d = 0; d < nDev; d++) {
      this.arrivalRng.push(root.fork(`device[${d}].arrival`));
      this.deviceMsRng.push(root.fork(`device[${d}].deviceMs`));
      this.payloadRng.push(root.fork(`device[${d}].payloadBytes`));
      this.edgeMsRng.push(root.fork(`device[${d}].edgeMs`));
      this.resultRng.push(root.fork(`device[${d}].resultBytes`));
      this.deviceQueue.push(new IntFifo());
    }
    this.deviceBusy = new Uint8Array(nDev);
    this.openDevices = nDev;
    this.drain = scenario.drain;
    this.freeWorkers = scenario.edge.workers;

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
    this.uplinks = createLinks(scenario.uplink, nDev, { sim, rng: root.fork('uplink'), name: 'uplink', onDelivered: (id, ok) => this.uplinkDelivered(id, ok) });
    this.downlinks = createLinks(scenario.downlink, nDev, { sim, rng: root.fork('downlink'), name: 'downlink', onDelivered: (id, ok) => this.downlinkDelivered(id, ok) });

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
    if (this.firstMeasuredId < 0) this.firstMeasuredId = this.T.count;
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
    if (this.firstMeasuredId < 0 && now >= this.warmupEndMs) this.firstMeasuredId = T.count;
    if (!this.timedWarmup && T.count === this.warmupRequests) {
      this.accrue(now);
      this.areaAtWarmup = this.area;
      this.warmupEndMs = now;
    }
    const id = T.add(d, now);
    const p = this.pipeline;
    T.deviceMs[id] = p.deviceMs(this.deviceMsRng[d]);
    T.payloadBytes[id] = p.payloadBytes(this.payloadRng[d]);
    T.edgeMs[id] = p.edgeMs(this.edgeMsRng[d]);
    T.resultBytes[id] = p.resultBytes(this.resultRng[d]);
    this.accrue(now);
    this.inSystem++;
    if (T.count >= this.maxRequests) {
      this.closeArrivals();
      if (!this.drain) this.sim.stop();
    }
    if (this.deviceBusy[d] === 0) this.startDevice(d, id);
    else this.deviceQueue[d].push(id);
    if (this.arrivalType !== 'closed') this.scheduleNextArrival(d);
  }

  // --- device ------------------------------------------------------------------------

  private startDevice(d: number, id: number): void {
    this.deviceBusy[d] = 1;
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
    if (this.freeWorkers > 0) {
      this.freeWorkers--;
      this.startEdge(id);
    } else {
      this.edgeQueue.push(id);
    }
  }

  private startEdge(id: number): void {
    this.T.edgeStartMs[id] = this.sim.nowMs;
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

  // --- downlink → done ---------------------------------------------------------------

  private downlinkDelivered(id: number, ok: boolean): void {
    this.leave(id, ok ? RequestStatus.Completed : RequestStatus.DroppedDownlink);
  }

  private leave(id: number, status: number): void {
    const now = this.sim.nowMs;
    this.T.endMs[id] = now;
    this.T.status[id] = status;
    this.accrue(now);
    this.inSystem--;
    if (this.arrivalType === 'closed') this.scheduleNextArrival(this.T.device[id]);
    if (!this.arrivalsOpen && this.drain && this.inSystem === 0) this.sim.stop();
  }
}

/** Simulates one pipeline over a scenario (see SplitSystem) and returns its timelines. */
export function simulatePipeline(scenario: Scenario, pipeline: ResolvedPipeline, opts: SimulateOptions = {}): PipelineRun {
  const seed = opts.seed ?? scenario.seed;
  const m = new SplitSystem(scenario, pipeline, seed, opts.createLinks ?? createDeviceLinks);
  const endMs = m.run();
  return {
    scenarioName: scenario.name,
    pipeline,
    seed,
    requests: m.T,
    firstMeasuredId: Math.min(m.firstMeasuredId, m.T.count),
    warmupEndMs: m.warmupEndMs,
    endMs,
    areaInSystemMs: m.area,
    areaInSystemMeasuredMs: m.area - m.areaAtWarmup,
    inSystemAtEnd: m.inSystem,
    edgeBusyMs: m.edgeBusyMs,
    edgeWorkers: scenario.edge.workers,
    events: m.sim.eventsProcessed,
    ...m.linkStats(),
  };
}

/** Simulates every pipeline over the same scenario and seed streams. */
export function simulateScenario(scenario: Scenario, pipelines: ResolvedPipeline[], opts: SimulateOptions = {}): PipelineRun[] {
  return pipelines.map((p) => simulatePipeline(scenario, p, opts));
}
