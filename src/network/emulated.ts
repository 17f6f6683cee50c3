import * as path from 'path';
import type { Simulator } from '../engine/simulator';
import { DelayModel } from './delay';
import { createLossModel, type LossModel } from './loss';
import { FluidServer, TraceServer, type Server, type ServiceHost } from './server';
import { defaultHeaderBytes, type LinkSpec } from './spec';
import { loadTrace } from './trace';
import { emptyStats, type Link, type LinkContext, type LinkStats } from './types';

// Packet flags.
const LOST = 1;
// Request flags.
const R_FAILED = 1;
const R_RESOLVED = 2;
const R_COMPLETE = 4;

// Timer args carry the packet slot and its generation, so a timer outliving its packet is ignored.
const SLOT_BITS = 67108864; // 2^26
const GEN_MASK = SLOT_BITS - 1;

// TCP connection states.
const CLOSED = 0;
const OPENING = 1;
const OPEN = 2;
/** Duplicate-ACK threshold of fast retransmit (RFC 5681). */
const DUP_THRESH = 3;

function grow<T extends Int32Array | Float64Array | Uint8Array>(a: T, size: number): T {
  const b = new (a.constructor as new (n: number) => T)(size);
  b.set(a);
  return b;
}

/**
 * A one-way link built from a spec: packetization, a bottleneck (constant, Markov-modulated
 * or trace-driven) behind drop-tail queues (one FIFO, or per-device queues served by deficit
 * round robin), channel loss drawn at departure, propagation delay and jitter, and delivery
 * as datagrams, with link-layer ARQ, or over a TCP-like connection per device. Everything is
 * computed event by event on the shared simulator; packets and requests live in typed-array
 * pools, so the hot path allocates nothing once the pools have grown.
 */
export class EmulatedLink implements Link, ServiceHost {
  readonly name: string;
  /** Header bytes per packet after defaults. */
  readonly headerBytes: number;
  readonly spec: LinkSpec;
  /** Trace start offset in ms (trace links only). */
  readonly startOffsetMs: number = 0;

  private readonly sim: Simulator;
  private readonly ctx: LinkContext;
  private readonly st: LinkStats = emptyStats();
  private readonly server: Server;
  private readonly loss: LossModel;
  private readonly delay: DelayModel;
  private readonly mode: 'datagram' | 'arq' | 'tcp';
  private readonly mtu: number;
  private readonly overhead: number;
  private readonly shared: boolean;
  private readonly fair: boolean;
  private readonly nDev: number;
  private readonly limitPackets: number;
  private readonly limitBytes: number;
  private lastArrivalMs = -Infinity;

  // Packet pool (struct of arrays).
  private pReq = new Int32Array(64);
  private pDev = new Int32Array(64);
  private pWire = new Float64Array(64);
  private pQueuedAt = new Float64Array(64);
  /** When the bottleneck took the packet from the queue (start of its airtime). */
  private pServiceAt = new Float64Array(64);
  private pSent = new Float64Array(64);
  private pMark = new Float64Array(64);
  private pTries = new Int32Array(64);
  private pGen = new Int32Array(64);
  private pFlags = new Uint8Array(64);
  private pNext = new Int32Array(64);
  private pFree: number[] = [];
  private pUsed = 0;

  // Request pool.
  private rId = new Float64Array(16);
  private rLeft = new Int32Array(16);
  private rRefs = new Int32Array(16);
  private rFlags = new Uint8Array(16);
  private rNext = new Int32Array(16);
  private rFree: number[] = [];
  private rUsed = 0;

  // Bottleneck queues: one (FIFO) or one per device (fair share).
  private readonly qHead: Int32Array;
  private readonly qTail: Int32Array;
  private readonly qCount: Int32Array;
  private readonly deficit: Float64Array;
  private readonly quantum: number;
  private drrCur = 0;
  private drrVisit = false;
  private queuedPackets = 0;
  private queuedBytes = 0;

  // Event types.
  private readonly evArrive: number;
  private readonly evRetransmit: number;
  private readonly evAck: number;
  private readonly evTimer: number;
  private readonly evHandshake: number;

  // TCP connections, one per device slot.
  private readonly cState: Uint8Array;
  private readonly cwnd: Float64Array;
  private readonly ssthresh: Float64Array;
  private readonly inFlight: Int32Array;
  private readonly srtt: Float64Array;
  private readonly rttvar: Float64Array;
  private readonly rto: Float64Array;
  private readonly lastActiveMs: Float64Array;
  private readonly lastReductionMs: Float64Array;
  private readonly acks: Float64Array;
  private readonly pendHead: Int32Array;
  private readonly pendTail: Int32Array;
  private readonly reqHead: Int32Array;
  private readonly reqTail: Int32Array;
  private readonly lostList: number[][];
  private readonly lostHead: Int32Array;

  /**
   * @param spec a validated spec (defaults applied; trace path absolute or relative to ctx.baseDir)
   * @param deviceCount devices that may send on this link (1 for a per-device link)
   */
  constructor(spec: LinkSpec, ctx: LinkContext, deviceCount = 1) {
    this.spec = spec;
    this.ctx = ctx;
    this.sim = ctx.sim;
    this.name = ctx.name;
    this.mode = spec.delivery.mode;
    this.headerBytes = spec.headerBytes ?? defaultHeaderBytes(spec.delivery);
    this.mtu = spec.mtuBytes;
    this.overhead = spec.linkOverheadBytes;
    this.shared = spec.sharing !== 'per-device';
    this.fair = spec.sharing === 'fair';
    this.nDev = this.shared ? Math.max(1, deviceCount) : 1;
    this.limitPackets = spec.queue?.limitPackets ?? Infinity;
    this.limitBytes = spec.queue?.limitBytes ?? Infinity;
    const nq = this.fair ? this.nDev : 1;
    this.qHead = new Int32Array(nq).fill(-1);
    this.qTail = new Int32Array(nq).fill(-1);
    this.qCount = new Int32Array(nq);
    this.deficit = new Float64Array(nq);
    this.quantum = this.mtu + this.overhead;

    const rng = ctx.rng;
    this.loss = createLossModel(spec.loss, rng.fork('loss'));
    this.delay = new DelayModel(spec.delayMs, spec.jitterMs, spec.jitterDistribution, rng.fork('jitter'));
    if (spec.type === 'trace') {
      const file = path.resolve(ctx.baseDir ?? process.cwd(), spec.file);
      const trace = loadTrace(file, spec.format, spec.opportunityBytes);
      this.startOffsetMs = spec.startOffsetMs === 'random' ? rng.fork('offset').int(trace.periodMs) : spec.startOffsetMs % trace.periodMs;
      this.server = new TraceServer(this.sim, this, trace, spec.opportunityBytes, this.startOffsetMs);
    } else if (spec.type === 'markov') {
      this.server = new FluidServer(this.sim, this, spec.states, spec.transitions, spec.dutyCycle, rng.fork('rate'));
    } else {
      this.server = new FluidServer(this.sim, this, [{ rateBps: spec.rateBps, meanSojournMs: Infinity }], undefined, spec.dutyCycle, undefined);
    }

    const n = this.nDev;
    this.cState = new Uint8Array(n);
    this.cwnd = new Float64Array(n);
    this.ssthresh = new Float64Array(n);
    this.inFlight = new Int32Array(n);
    this.srtt = new Float64Array(n);
    this.rttvar = new Float64Array(n);
    this.rto = new Float64Array(n);
    this.lastActiveMs = new Float64Array(n);
    this.lastReductionMs = new Float64Array(n).fill(-Infinity);
    this.acks = new Float64Array(n);
    this.pendHead = new Int32Array(n).fill(-1);
    this.pendTail = new Int32Array(n).fill(-1);
    this.reqHead = new Int32Array(n).fill(-1);
    this.reqTail = new Int32Array(n).fill(-1);
    this.lostList = this.mode === 'tcp' ? Array.from({ length: n }, () => []) : [];
    this.lostHead = new Int32Array(n);

    const sim = this.sim;
    this.evArrive = sim.register((slot) => this.onArrive(slot));
    this.evRetransmit = sim.register((slot) => this.onArqRetransmit(slot));
    this.evAck = sim.register((slot) => this.onAck(slot));
    this.evTimer = sim.register((arg) => this.onTimer(arg));
    this.evHandshake = sim.register((dev) => this.onHandshake(dev));
  }

  stats(): LinkStats { return { ...this.st }; }

  /** Packets waiting in the bottleneck queue(s) now (not counting the one in service). */
  get queueLength(): number { return this.queuedPackets; }

  /** TCP congestion window of a device's connection, in segments (tests and diagnostics). */
  congestionWindow(deviceIndex = 0): number { return this.cwnd[this.devSlot(deviceIndex)]; }

  private devSlot(deviceIndex: number): number {
    if (!this.shared) return 0;
    if (!(deviceIndex >= 0 && deviceIndex < this.nDev && Number.isInteger(deviceIndex))) {
      throw new Error(`${this.name}: device index ${deviceIndex} outside 0..${this.nDev - 1}`);
    }
    return deviceIndex;
  }

  // ---- pools ------------------------------------------------------------------------------

  private allocPacket(req: number, dev: number, wire: number): number {
    let s: number;
    if (this.pFree.length > 0) s = this.pFree.pop()!;
    else {
      s = this.pUsed++;
      if (s >= this.pReq.length) {
        const size = this.pReq.length * 2;
        if (size > SLOT_BITS) throw new Error(`${this.name}: more than ${SLOT_BITS} packets in flight`);
        this.pReq = grow(this.pReq, size); this.pDev = grow(this.pDev, size); this.pWire = grow(this.pWire, size);
        this.pQueuedAt = grow(this.pQueuedAt, size); this.pServiceAt = grow(this.pServiceAt, size); this.pSent = grow(this.pSent, size); this.pMark = grow(this.pMark, size);
        this.pTries = grow(this.pTries, size); this.pGen = grow(this.pGen, size); this.pFlags = grow(this.pFlags, size);
        this.pNext = grow(this.pNext, size);
      }
    }
    this.pReq[s] = req;
    this.pDev[s] = dev;
    this.pWire[s] = wire;
    this.pTries[s] = 1;
    this.pFlags[s] = 0;
    this.pNext[s] = -1;
    this.rRefs[req]++;
    return s;
  }

  private freePacket(s: number): void {
    this.pGen[s] = (this.pGen[s] + 1) & GEN_MASK;
    const req = this.pReq[s];
    this.pFree.push(s);
    if (--this.rRefs[req] === 0 && (this.rFlags[req] & R_RESOLVED) !== 0) this.rFree.push(req);
  }

  private allocRequest(id: number): number {
    let r: number;
    if (this.rFree.length > 0) r = this.rFree.pop()!;
    else {
      r = this.rUsed++;
      if (r >= this.rId.length) {
        const size = this.rId.length * 2;
        this.rId = grow(this.rId, size); this.rLeft = grow(this.rLeft, size); this.rRefs = grow(this.rRefs, size);
        this.rFlags = grow(this.rFlags, size); this.rNext = grow(this.rNext, size);
      }
    }
    this.rId[r] = id;
    this.rLeft[r] = 0;
    this.rRefs[r] = 0;
    this.rFlags[r] = 0;
    this.rNext[r] = -1;
    return r;
  }

  private resolve(req: number, ok: boolean): void {
    if (this.rFlags[req] & R_RESOLVED) return;
    this.rFlags[req] |= R_RESOLVED;
    if (ok) this.st.delivered++; else this.st.failed++;
    if (this.rRefs[req] === 0) this.rFree.push(req);
    this.ctx.onDelivered(this.rId[req], ok);
  }

  // ---- sending ----------------------------------------------------------------------------

  send(requestId: number, payloadBytes: number, deviceIndex: number): void {
    if (!(payloadBytes >= 0 && Number.isFinite(payloadBytes))) throw new Error(`${this.name}: bad payload size ${payloadBytes}`);
    const dev = this.devSlot(deviceIndex);
    const bytes = Math.ceil(payloadBytes);
    const per = this.mtu - this.headerBytes;
    const n = Math.max(1, Math.ceil(bytes / per));
    const req = this.allocRequest(requestId);
    this.rLeft[req] = n;
    const st = this.st;
    st.payloads++;
    st.payloadBytes += payloadBytes;
    st.packets += n;
    st.headerBytes += n * this.headerBytes;
    st.linkOverheadBytes += n * this.overhead;
    const tcp = this.mode === 'tcp';
    if (tcp) this.tcpBeforeSend(dev, req);
    for (let i = 0; i < n; i++) {
      const body = i < n - 1 ? per : bytes - (n - 1) * per;
      const s = this.allocPacket(req, dev, body + this.headerBytes + this.overhead);
      if (tcp) this.appendPending(dev, s);
      else this.enqueue(s);
    }
    if (tcp) this.tcpAfterSend(dev);
  }

  /** Puts a packet in the bottleneck queue, or drops it when the queue is full. */
  private enqueue(s: number): void {
    const wire = this.pWire[s];
    if (this.queuedPackets + 1 > this.limitPackets || this.queuedBytes + wire > this.limitBytes) {
      this.st.packetsDropped++;
      this.onLoss(s, true);
      return;
    }
    const q = this.fair ? this.pDev[s] : 0;
    this.pQueuedAt[s] = this.sim.nowMs;
    this.pNext[s] = -1;
    if (this.qTail[q] < 0) this.qHead[q] = s; else this.pNext[this.qTail[q]] = s;
    this.qTail[q] = s;
    this.qCount[q]++;
    this.queuedPackets++;
    this.queuedBytes += wire;
    this.server.kick();
  }

  // ---- ServiceHost ------------------------------------------------------------------------

  /** @internal */
  dequeue(): number {
    if (this.queuedPackets === 0) return -1;
    if (!this.fair) return this.popQueue(0);
    return this.dequeueFair();
  }

  private dequeueFair(): number {
    // Deficit round robin with a quantum of one full packet: every visit sends at least one.
    for (;;) {
      const q = this.drrCur;
      if (this.qCount[q] > 0) {
        if (!this.drrVisit) { this.deficit[q] += this.quantum; this.drrVisit = true; }
        const h = this.qHead[q];
        if (this.pWire[h] <= this.deficit[q]) {
          this.deficit[q] -= this.pWire[h];
          const s = this.popQueue(q);
          if (this.qCount[q] === 0) { this.deficit[q] = 0; this.drrCur = (q + 1) % this.nDev; this.drrVisit = false; }
          return s;
        }
      } else {
        this.deficit[q] = 0;
      }
      this.drrCur = (q + 1) % this.nDev;
      this.drrVisit = false;
    }
  }

  private popQueue(q: number): number {
    const s = this.qHead[q];
    this.pServiceAt[s] = this.sim.nowMs;
    this.qHead[q] = this.pNext[s];
    if (this.qHead[q] < 0) this.qTail[q] = -1;
    this.qCount[q]--;
    this.queuedPackets--;
    this.queuedBytes -= this.pWire[s];
    return s;
  }

  /** @internal */
  wireBytes(s: number): number { return this.pWire[s]; }
  /** @internal */
  queuedAtMs(s: number): number { return this.pQueuedAt[s]; }

  /** @internal */
  departed(s: number): void {
    this.st.wireBytes += this.pWire[s];
    this.ctx.onAirtime?.(this.pDev[s], this.pServiceAt[s], this.sim.nowMs, this.pWire[s]);
    if (this.loss.lost()) {
      this.st.packetsLost++;
      this.onLoss(s, false);
      return;
    }
    const now = this.sim.nowMs;
    let at = now + this.delay.sample();
    if (!this.spec.reorder) {
      if (at < this.lastArrivalMs) at = this.lastArrivalMs;
      this.lastArrivalMs = at;
    }
    this.sim.scheduleAt(at, this.evArrive, s);
  }

  /** A packet was lost on the channel (dropped = refused by the queue). */
  private onLoss(s: number, dropped: boolean): void {
    switch (this.mode) {
      case 'datagram':
        // The receiver is left waiting; the payload fails once all its packets are accounted for.
        this.pFlags[s] |= LOST;
        this.sim.schedule(dropped ? 0 : this.spec.delayMs, this.evArrive, s);
        break;
      case 'arq':
        this.sim.schedule((this.spec.delivery as { rtoMs: number }).rtoMs, this.evRetransmit, s);
        break;
      case 'tcp': {
        const dev = this.pDev[s];
        this.pFlags[s] |= LOST;
        this.pMark[s] = this.acks[dev];
        this.lostList[dev].push(this.pGen[s] * SLOT_BITS + s);
        break;
      }
    }
  }

  private onArrive(s: number): void {
    const req = this.pReq[s];
    if (this.mode === 'tcp') {
      if (--this.rLeft[req] === 0) {
        this.rFlags[req] |= R_COMPLETE;
        this.deliverInOrder(this.pDev[s]);
      }
      const d = this.spec.delivery as { ackDelayMs?: number };
      this.sim.schedule(d.ackDelayMs ?? this.spec.delayMs, this.evAck, s);
      return;
    }
    if (this.pFlags[s] & LOST) this.rFlags[req] |= R_FAILED;
    if (--this.rLeft[req] === 0) this.resolve(req, (this.rFlags[req] & R_FAILED) === 0);
    this.freePacket(s);
  }

  private onArqRetransmit(s: number): void {
    const req = this.pReq[s];
    if (this.rFlags[req] & R_RESOLVED) { this.freePacket(s); return; }
    const maxRetries = (this.spec.delivery as { maxRetries: number }).maxRetries;
    if (this.pTries[s] > maxRetries) {
      this.resolve(req, false);
      this.freePacket(s);
      return;
    }
    this.pTries[s]++;
    this.st.retransmissions++;
    this.enqueue(s);
  }

  // ---- TCP-like delivery ------------------------------------------------------------------

  private get tcp(): Extract<LinkSpec['delivery'], { mode: 'tcp' }> {
    return this.spec.delivery as Extract<LinkSpec['delivery'], { mode: 'tcp' }>;
  }

  private appendPending(dev: number, s: number): void {
    if (this.pendTail[dev] < 0) this.pendHead[dev] = s; else this.pNext[this.pendTail[dev]] = s;
    this.pendTail[dev] = s;
  }

  private tcpBeforeSend(dev: number, req: number): void {
    const t = this.tcp;
    const now = this.sim.nowMs;
    if (this.cState[dev] === OPEN && t.idleResetMs !== undefined && this.inFlight[dev] === 0 &&
        this.pendHead[dev] < 0 && now - this.lastActiveMs[dev] >= t.idleResetMs) {
      this.cState[dev] = CLOSED;
    }
    if (this.reqTail[dev] < 0) this.reqHead[dev] = req; else this.rNext[this.reqTail[dev]] = req;
    this.reqTail[dev] = req;
  }

  private tcpAfterSend(dev: number): void {
    const t = this.tcp;
    if (this.cState[dev] === CLOSED) {
      this.cwnd[dev] = t.initialWindowSegments;
      this.ssthresh[dev] = Infinity;
      this.srtt[dev] = NaN;
      this.rttvar[dev] = NaN;
      this.rto[dev] = t.initialRtoMs;
      this.lastReductionMs[dev] = -Infinity;
      if (t.handshake) {
        this.cState[dev] = OPENING;
        this.sim.schedule(this.spec.delayMs + (t.ackDelayMs ?? this.spec.delayMs), this.evHandshake, dev);
        return;
      }
      this.cState[dev] = OPEN;
    }
    if (this.cState[dev] === OPEN) this.trySend(dev);
  }

  private onHandshake(dev: number): void {
    const t = this.tcp;
    this.cState[dev] = OPEN;
    this.rttSample(dev, this.spec.delayMs + (t.ackDelayMs ?? this.spec.delayMs));
    this.trySend(dev);
  }

  /** RFC 6298 smoothing; the RTO is clamped to [minRtoMs, maxRtoMs]. */
  private rttSample(dev: number, r: number): void {
    const t = this.tcp;
    if (Number.isNaN(this.srtt[dev])) {
      this.srtt[dev] = r;
      this.rttvar[dev] = r / 2;
    } else {
      this.rttvar[dev] = 0.75 * this.rttvar[dev] + 0.25 * Math.abs(this.srtt[dev] - r);
      this.srtt[dev] = 0.875 * this.srtt[dev] + 0.125 * r;
    }
    this.rto[dev] = Math.min(t.maxRtoMs, Math.max(t.minRtoMs, this.srtt[dev] + 4 * this.rttvar[dev]));
  }

  private trySend(dev: number): void {
    const now = this.sim.nowMs;
    this.lastActiveMs[dev] = now;
    while (this.pendHead[dev] >= 0 && this.inFlight[dev] < Math.floor(this.cwnd[dev])) {
      const s = this.pendHead[dev];
      this.pendHead[dev] = this.pNext[s];
      if (this.pendHead[dev] < 0) this.pendTail[dev] = -1;
      this.inFlight[dev]++;
      this.transmit(s);
    }
  }

  private transmit(s: number): void {
    const dev = this.pDev[s];
    this.pSent[s] = this.sim.nowMs;
    this.sim.schedule(this.rto[dev], this.evTimer, this.pGen[s] * SLOT_BITS + s);
    this.enqueue(s);
  }

  private onAck(s: number): void {
    const dev = this.pDev[s];
    this.inFlight[dev]--;
    this.acks[dev]++;
    if (this.pTries[s] === 1) this.rttSample(dev, this.sim.nowMs - this.pSent[s]); // Karn
    if (this.cwnd[dev] < this.ssthresh[dev]) this.cwnd[dev] += 1;
    else this.cwnd[dev] += 1 / this.cwnd[dev];
    this.freePacket(s);
    this.fastRetransmit(dev);
    this.trySend(dev);
  }

  /**
   * A segment is taken as lost, as with SACK, once DUP_THRESH segments sent after it have been
   * acknowledged; it is then sent again and the window halves (once per window of data).
   */
  private fastRetransmit(dev: number): void {
    const list = this.lostList[dev];
    let h = this.lostHead[dev];
    while (h < list.length) {
      const enc = list[h];
      const s = enc % SLOT_BITS;
      const gen = (enc - s) / SLOT_BITS;
      if (this.pGen[s] !== gen || (this.pFlags[s] & LOST) === 0) { h++; continue; }
      if (this.acks[dev] - this.pMark[s] < DUP_THRESH) break;
      h++;
      this.retransmit(s, false);
    }
    if (h > 256 && h * 2 > list.length) { list.splice(0, h); h = 0; }
    this.lostHead[dev] = h;
  }

  private onTimer(arg: number): void {
    const s = arg % SLOT_BITS;
    const gen = (arg - s) / SLOT_BITS;
    if (this.pGen[s] !== gen) return; // acknowledged or retransmitted since
    if (this.pFlags[s] & LOST) { this.retransmit(s, true); return; }
    // Still queued or propagating: spurious timeouts are not modelled, the timer is re-armed.
    this.sim.schedule(this.rto[this.pDev[s]], this.evTimer, arg);
  }

  private retransmit(s: number, timeout: boolean): void {
    const dev = this.pDev[s];
    const now = this.sim.nowMs;
    if (this.pTries[s] > this.tcp.maxRetries) {
      const req = this.pReq[s];
      this.rFlags[req] |= R_FAILED | R_COMPLETE;
      this.inFlight[dev]--;
      this.freePacket(s);
      this.deliverInOrder(dev);
      this.trySend(dev);
      return;
    }
    if (this.pSent[s] >= this.lastReductionMs[dev]) {
      // A new loss event (this segment was sent after the last reduction).
      this.ssthresh[dev] = Math.max(this.inFlight[dev] / 2, 2);
      this.cwnd[dev] = timeout ? 1 : this.ssthresh[dev];
      this.lastReductionMs[dev] = now;
    } else if (timeout) {
      this.cwnd[dev] = 1;
    }
    if (timeout) this.rto[dev] = Math.min(this.tcp.maxRtoMs, this.rto[dev] * 2);
    this.pFlags[s] &= ~LOST;
    this.pTries[s]++;
    this.pGen[s] = (this.pGen[s] + 1) & GEN_MASK;
    this.st.retransmissions++;
    this.transmit(s);
  }

  /** Hands completed payloads to the application in the order they were sent (a byte stream). */
  private deliverInOrder(dev: number): void {
    let r = this.reqHead[dev];
    while (r >= 0 && (this.rFlags[r] & R_COMPLETE) !== 0) {
      const next = this.rNext[r];
      this.reqHead[dev] = next;
      if (next < 0) this.reqTail[dev] = -1;
      this.resolve(r, (this.rFlags[r] & R_FAILED) === 0);
      r = next;
    }
  }
}
