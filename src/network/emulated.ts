import * as path from 'path';
import type { Simulator } from '../engine/simulator';
import { grow } from './arrays';
import { DelayModel } from './delay';
import { createLossModel, NoLoss, type LossModel } from './loss';
import { FluidServer, TraceServer, type Server, type ServiceHost } from './server';
import { defaultHeaderBytes, type LinkSpec } from './spec';
import { loadTrace } from './trace';
import { TCP_DATA, TcpConnections, tcpKind, type TcpSenderState } from './tcp';
import { emptyStats, type Link, type LinkContext, type LinkStats } from './types';

// Packet flags.
const LOST = 1;
// Request flags.
const R_FAILED = 1;
const R_RESOLVED = 2;

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
  /** TCP: segment sequence number and tag (connection epoch, packet kind). */
  private pSeq = new Float64Array(64);
  private pTag = new Int32Array(64);
  private pTries = new Int32Array(64);
  private pFlags = new Uint8Array(64);
  private pNext = new Int32Array(64);
  private pFree: number[] = [];
  private pUsed = 0;

  // Request pool.
  private rId = new Float64Array(16);
  private rLeft = new Int32Array(16);
  private rRefs = new Int32Array(16);
  private rFlags = new Uint8Array(16);
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

  /** TCP connections, one per device slot (tcp delivery only). */
  private readonly tcp?: TcpConnections;

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

    const sim = this.sim;
    this.evArrive = sim.register((slot) => this.onArrive(slot));
    this.evRetransmit = sim.register((slot) => this.onArqRetransmit(slot));
    if (spec.delivery.mode === 'tcp') {
      const d = spec.delivery;
      const control = this.headerBytes + this.overhead;
      this.tcp = new TcpConnections({
        sim,
        sendForward: (dev, wire, seq, tag) => this.sendTcpPacket(dev, wire, seq, tag),
        resolve: (req, ok) => this.resolve(req, ok),
        retransmitted: () => { this.st.retransmissions++; },
      }, d, {
        mssBytes: this.mtu - this.headerBytes,
        controlWireBytes: control,
        segmentOverheadBytes: control,
        forwardDelayMs: spec.delayMs,
        reverseRateBps: d.reverseRateBps ?? (spec.type === 'constant' ? spec.rateBps : Infinity),
        // Reverse-path losses have their own stream; a list names forward data packets only.
        reverseLoss: spec.loss.model === 'list' ? new NoLoss() : createLossModel(spec.loss, rng.fork('reverse-loss')),
      }, this.nDev);
    }
  }

  stats(): LinkStats { return { ...this.st }; }

  /** Packets waiting in the bottleneck queue(s) now (not counting the one in service). */
  get queueLength(): number { return this.queuedPackets; }

  /** TCP congestion window of a device's connection, in segments (tests and diagnostics). */
  congestionWindow(deviceIndex = 0): number {
    if (!this.tcp) throw new Error(`${this.name}: congestionWindow needs tcp delivery`);
    return this.tcp.congestionWindow(this.devSlot(deviceIndex));
  }

  /** TCP sender state of a device's connection (tests and diagnostics). */
  tcpSenderState(deviceIndex = 0): TcpSenderState {
    if (!this.tcp) throw new Error(`${this.name}: tcpSenderState needs tcp delivery`);
    return this.tcp.senderState(this.devSlot(deviceIndex));
  }

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
        this.pReq = grow(this.pReq, size); this.pDev = grow(this.pDev, size); this.pWire = grow(this.pWire, size);
        this.pQueuedAt = grow(this.pQueuedAt, size); this.pServiceAt = grow(this.pServiceAt, size); this.pSeq = grow(this.pSeq, size); this.pTag = grow(this.pTag, size);
        this.pTries = grow(this.pTries, size); this.pFlags = grow(this.pFlags, size);
        this.pNext = grow(this.pNext, size);
      }
    }
    this.pReq[s] = req;
    this.pDev[s] = dev;
    this.pWire[s] = wire;
    this.pTries[s] = 1;
    this.pFlags[s] = 0;
    this.pNext[s] = -1;
    if (req >= 0) this.rRefs[req]++;
    return s;
  }

  private freePacket(s: number): void {
    const req = this.pReq[s];
    this.pFree.push(s);
    if (req >= 0 && --this.rRefs[req] === 0 && (this.rFlags[req] & R_RESOLVED) !== 0) this.rFree.push(req);
  }

  private allocRequest(id: number): number {
    let r: number;
    if (this.rFree.length > 0) r = this.rFree.pop()!;
    else {
      r = this.rUsed++;
      if (r >= this.rId.length) {
        const size = this.rId.length * 2;
        this.rId = grow(this.rId, size); this.rLeft = grow(this.rLeft, size); this.rRefs = grow(this.rRefs, size);
        this.rFlags = grow(this.rFlags, size);
      }
    }
    this.rId[r] = id;
    this.rLeft[r] = 0;
    this.rRefs[r] = 0;
    this.rFlags[r] = 0;
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
    if (this.tcp) { this.tcp.send(dev, req, bytes); return; }
    for (let i = 0; i < n; i++) {
      const body = i < n - 1 ? per : bytes - (n - 1) * per;
      this.enqueue(this.allocPacket(req, dev, body + this.headerBytes + this.overhead));
    }
  }

  /** A TCP packet (segment, SYN or handshake ACK) joins the bottleneck queue. */
  private sendTcpPacket(dev: number, wire: number, seq: number, tag: number): void {
    const s = this.allocPacket(-1, dev, wire);
    this.pSeq[s] = seq;
    this.pTag[s] = tag;
    this.enqueue(s);
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
    if (this.loss.lost(!this.tcp || tcpKind(this.pTag[s]) === TCP_DATA)) {
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
      case 'tcp':
        // The receiver never sees it; the sender finds out from the ACKs (or their absence).
        this.freePacket(s);
        break;
    }
  }

  private onArrive(s: number): void {
    if (this.tcp) {
      const dev = this.pDev[s], seq = this.pSeq[s], tag = this.pTag[s], sentAt = this.pServiceAt[s];
      this.freePacket(s);
      this.tcp.arrive(dev, seq, tag, sentAt);
      return;
    }
    const req = this.pReq[s];
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
}
