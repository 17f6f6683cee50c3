import type { Simulator } from '../engine/simulator';
import type { Rng } from '../engine/rng';
import type { OpportunityTrace } from './trace';

/**
 * The bottleneck of a link serves one packet at a time. It pulls packets from its host (the
 * link's queues), computes departures event by event, and tells the host when each packet
 * has left. Exactly one server event is pending at a time, so nothing is ever cancelled.
 */
export interface ServiceHost {
  /** Next packet to serve (removed from the queue), or -1 when nothing waits. */
  dequeue(): number;
  /** Bytes the packet occupies on the bottleneck. */
  wireBytes(slot: number): number;
  /** When the packet entered the queue, ms. */
  queuedAtMs(slot: number): number;
  /** The packet has fully left the bottleneck at sim.nowMs. */
  departed(slot: number): void;
}

export interface Server {
  /** Called after a packet was queued: starts service when the server is idle. */
  kick(): void;
}

/** One state of a rate process. */
export interface RateState {
  rateBps: number;
  meanSojournMs: number;
}

/**
 * Stationary probabilities of a Markov-modulated rate: the embedded jump chain's stationary
 * vector weighted by each state's mean sojourn.
 */
export function markovStationary(states: RateState[], transitions?: number[][]): number[] {
  const n = states.length;
  const P = transitions ?? states.map((_, i) => states.map((__, j) => (i === j ? 0 : 1 / (n - 1))));
  // Power iteration on the lazy chain (I+P)/2, which converges even when P is periodic.
  let v = new Array<number>(n).fill(1 / n);
  for (let it = 0; it < 10000; it++) {
    const w = new Array<number>(n).fill(0);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) w[j] += v[i] * 0.5 * ((i === j ? 1 : 0) + P[i][j]);
    const diff = w.reduce((s, x, j) => s + Math.abs(x - v[j]), 0);
    v = w;
    if (diff < 1e-15) break;
  }
  const weighted = v.map((x, i) => x * states[i].meanSojournMs);
  const total = weighted.reduce((a, b) => a + b, 0);
  return weighted.map((x) => x / total);
}

/** Long-run mean rate of a Markov-modulated link, bits per second. */
export function markovMeanRateBps(states: RateState[], transitions?: number[][]): number {
  const pi = markovStationary(states, transitions);
  return states.reduce((s, st, i) => s + pi[i] * st.rateBps, 0);
}

/**
 * Rate-based service: a packet of b bytes needs 8b bits at the current rate. The rate is
 * constant, or Markov-modulated (it changes at exponential sojourn ends; a change during a
 * packet re-times the rest of it). The Markov chain is advanced lazily from its own stream,
 * so an idle link schedules nothing and the draws are the same as if it ran continuously.
 * A duty cycle below 1 keeps the sender silent for airtime·(1/dutyCycle − 1) after each packet.
 */
export class FluidServer implements Server {
  private cur = -1;
  private pending = false;
  private nextIsDeparture = false;
  private remainingBits = 0;
  private lastUpdateMs = 0;
  private airStartMs = 0;
  private state = 0;
  private stateEndMs = Infinity;
  private readonly rates: number[];
  private readonly sojourns: number[];
  private readonly eventType: number;

  constructor(
    private readonly sim: Simulator,
    private readonly host: ServiceHost,
    states: RateState[],
    private readonly transitions: number[][] | undefined,
    private readonly dutyCycle: number,
    private readonly rng: Rng | undefined,
  ) {
    this.rates = states.map((s) => s.rateBps);
    this.sojourns = states.map((s) => s.meanSojournMs);
    if (states.length > 1) {
      if (!rng) throw new Error('a Markov-modulated rate needs a random stream');
      const pi = markovStationary(states, transitions);
      let u = rng.uniform();
      this.state = pi.length - 1;
      for (let i = 0; i < pi.length; i++) { if (u < pi[i]) { this.state = i; break; } u -= pi[i]; }
      this.stateEndMs = sim.nowMs + rng.exponential(this.sojourns[this.state]);
    }
    this.eventType = sim.register(() => this.onEvent());
  }

  /** Index of the current rate state (after advancing it to now). */
  currentState(): number {
    this.advanceTo(this.sim.nowMs);
    return this.state;
  }

  kick(): void {
    if (this.cur < 0 && !this.pending) this.startNext();
  }

  private jump(): void {
    const n = this.rates.length;
    const rng = this.rng!;
    if (this.transitions) {
      const row = this.transitions[this.state];
      let u = rng.uniform();
      let next = n - 1;
      for (let j = 0; j < n; j++) { if (u < row[j]) { next = j; break; } u -= row[j]; }
      this.state = next;
    } else {
      const k = rng.int(n - 1);
      this.state = k >= this.state ? k + 1 : k;
    }
    this.stateEndMs += rng.exponential(this.sojourns[this.state]);
  }

  private advanceTo(t: number): void {
    while (this.stateEndMs <= t) this.jump();
  }

  private startNext(): void {
    if (this.cur >= 0 || this.pending) return;
    const slot = this.host.dequeue();
    if (slot < 0) return;
    const now = this.sim.nowMs;
    this.advanceTo(now);
    this.cur = slot;
    this.remainingBits = this.host.wireBytes(slot) * 8;
    this.lastUpdateMs = now;
    this.airStartMs = now;
    this.scheduleNext();
  }

  private scheduleNext(): void {
    const rate = this.rates[this.state];
    const dep = rate > 0 ? this.lastUpdateMs + (this.remainingBits * 1000) / rate : Infinity;
    this.nextIsDeparture = dep <= this.stateEndMs;
    this.pending = true;
    this.sim.scheduleAt(this.nextIsDeparture ? dep : this.stateEndMs, this.eventType, 0);
  }

  private onEvent(): void {
    this.pending = false;
    const now = this.sim.nowMs;
    if (this.cur < 0) { this.startNext(); return; } // end of a duty-cycle silence
    if (!this.nextIsDeparture) {
      this.remainingBits -= (this.rates[this.state] * (now - this.lastUpdateMs)) / 1000;
      this.lastUpdateMs = now;
      this.jump();
      this.scheduleNext();
      return;
    }
    const slot = this.cur;
    this.cur = -1;
    const silenceMs = this.dutyCycle < 1 ? (now - this.airStartMs) * (1 / this.dutyCycle - 1) : 0;
    if (silenceMs > 0) {
      this.pending = true;
      this.sim.scheduleAt(now + silenceMs, this.eventType, 0);
    }
    this.host.departed(slot);
    this.startNext();
  }
}

/**
 * Mahimahi's link: opportunities of `opportunityBytes` at the trace's milliseconds, looping
 * with the trace period, shifted so that sim time t is trace time t + offsetMs. Accounting is
 * per byte: a packet may finish in an opportunity another packet started using, or span
 * several; bytes of an opportunity nobody uses are lost. A packet that entered the queue in
 * millisecond m (floor of its time) can only use opportunities at times > m.
 */
export class TraceServer implements Server {
  private cur = -1;
  /** Absolute index (cycle·n + i) of the next untouched opportunity. */
  private nextIdx = 0;
  /** Bytes left in the last used opportunity, and its time. */
  private leftBytes = 0;
  private lastMs = -Infinity;
  private readonly times: Float64Array;
  private readonly n: number;
  private readonly periodMs: number;
  private readonly eventType: number;

  constructor(
    private readonly sim: Simulator,
    private readonly host: ServiceHost,
    trace: OpportunityTrace,
    private readonly opportunityBytes: number,
    private readonly offsetMs: number,
  ) {
    this.times = trace.timesMs;
    this.n = trace.timesMs.length;
    this.periodMs = trace.periodMs;
    this.eventType = sim.register(() => this.onDeparture());
  }

  /** Sim time of the opportunity with absolute index idx. */
  timeOf(idx: number): number {
    const c = Math.floor(idx / this.n);
    return this.times[idx - c * this.n] + c * this.periodMs - this.offsetMs;
  }

  /** Absolute index of the first opportunity strictly after sim time x. */
  firstIndexAfter(x: number): number {
    const y = x + this.offsetMs;
    let c = Math.floor(y / this.periodMs);
    const r = y - c * this.periodMs;
    let lo = 0;
    let hi = this.n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.times[mid] <= r) lo = mid + 1; else hi = mid;
    }
    if (lo === this.n) { c++; lo = 0; }
    return c * this.n + lo;
  }

  kick(): void {
    if (this.cur < 0) this.startNext();
  }

  private startNext(): void {
    if (this.cur >= 0) return;
    const slot = this.host.dequeue();
    if (slot < 0) return;
    this.cur = slot;
    let bytes = this.host.wireBytes(slot);
    const arrivedMs = Math.floor(this.host.queuedAtMs(slot));
    if (this.leftBytes > 0 && this.lastMs > arrivedMs) {
      const use = Math.min(this.leftBytes, bytes);
      bytes -= use;
      this.leftBytes -= use;
      if (bytes === 0) { this.sim.scheduleAt(this.lastMs, this.eventType, 0); return; }
    }
    const B = this.opportunityBytes;
    let idx = Math.max(this.nextIdx, this.firstIndexAfter(arrivedMs));
    while (bytes > B) { bytes -= B; idx++; }
    const t = this.timeOf(idx);
    this.leftBytes = B - bytes;
    this.lastMs = t;
    this.nextIdx = idx + 1;
    this.sim.scheduleAt(t, this.eventType, 0);
  }

  private onDeparture(): void {
    const slot = this.cur;
    this.cur = -1;
    this.host.departed(slot);
    this.startNext();
  }
}
