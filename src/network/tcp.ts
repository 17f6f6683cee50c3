import type { Simulator } from '../engine/simulator';
import { grow } from './arrays';
import type { LossModel } from './loss';
import type { DeliverySpec } from './spec';

/** The tcp variant of a link's delivery spec. */
export type TcpDeliverySpec = Extract<DeliverySpec, { mode: 'tcp' }>;

/** Kinds of packet the TCP layer puts on the forward path (low two bits of a packet tag). */
export const TCP_DATA = 0;
const TCP_SYN = 1;
const TCP_HANDSHAKE_ACK = 2;
// Kinds that travel on the reverse path only.
const TCP_SYN_ACK = 3;
const TCP_ACK = 4;

/** Packet tag: the connection's epoch and the packet kind, so stale packets are recognised. */
export function tcpTag(epoch: number, kind: number): number { return epoch * 4 + kind; }
/** Kind of a tagged forward packet (TCP_DATA for data segments). */
export function tcpKind(tag: number): number { return tag & 3; }

// Connection states.
const CLOSED = 0;
const OPENING = 1;
const ESTABLISHED = 2;

// Congestion states (the names ns-3 and Linux use).
const CA_OPEN = 0;
/** One or two duplicate ACKs: limited transmit (RFC 3042). */
const CA_DISORDER = 1;
/** Fast recovery after a fast retransmit (RFC 6582). */
const CA_RECOVERY = 2;
/** After a retransmission timeout: slow start from one segment, go-back-N. */
const CA_LOSS = 3;

/** Duplicate-ACK threshold of fast retransmit (RFC 5681). */
const DUP_THRESH = 3;

// Segment flags.
/** Held by the receiver above a hole. */
const RCVD = 1;
/** Sent more than once (Karn: no RTT sample from it). */
const RETX = 2;
/** The first unacknowledged segment, taken as lost without having been resent yet. */
const HEAD_LOST = 4;

/** A snapshot of a TCP sender. */
export interface TcpSenderState {
  cwndSegments: number;
  ssthreshSegments: number;
  /** open; disorder (1–2 duplicate ACKs); recovery (fast recovery); loss (after a timeout). */
  congestion: 'open' | 'disorder' | 'recovery' | 'loss';
  rtoMs: number;
  /** NaN before the first RTT sample. */
  srttMs: number;
}

/** What the TCP layer needs from the link that carries it. */
export interface TcpLinkHost {
  readonly sim: Simulator;
  /** Puts a packet in the bottleneck queue now; unless it is lost it comes back through TcpConnections.arrive. */
  sendForward(dev: number, wireBytes: number, seq: number, tag: number): void;
  /** Hands a payload to the application (ok) or gives up on it. */
  resolve(req: number, ok: boolean): void;
  /** A data segment was sent again. */
  retransmitted(): void;
}

/** Link parameters the TCP layer works with. */
export interface TcpLinkParams {
  /** Payload bytes per segment (MTU − headers). */
  mssBytes: number;
  /** Bytes a packet without payload (SYN, ACK) occupies on the wire. */
  controlWireBytes: number;
  /** Header and link overhead added to a segment's payload on the wire. */
  segmentOverheadBytes: number;
  /** One-way delay of the forward path (control packets that do not use the link). */
  forwardDelayMs: number;
  /** Rate of the reverse path for SYN-ACKs and ACKs (used with controlPacketsOnLink). */
  reverseRateBps: number;
  /** Loss on the reverse path (used with controlPacketsOnLink). */
  reverseLoss: LossModel;
}

/** A ring of twice the size holding segments from..to-1 (indexed by sequence number & mask). */
function growRing<T extends Float64Array | Uint8Array>(a: T, size: number, mask: number, from: number, to: number): T {
  const b = new (a.constructor as new (n: number) => T)(size);
  for (let s = from; s < to; s++) b[s & (size - 1)] = a[s & mask];
  return b;
}

/**
 * One sender–receiver pair: the sender's NewReno state, the receiver's reassembly and ACK
 * state, and the segments between them, indexed by sequence number (segments, not bytes;
 * sequence numbers never restart, so a new connection continues where the last one ended).
 */
class Connection {
  state = CLOSED;
  epoch = 0;

  // Segments una..tail-1 in a ring.
  mask = 63;
  segBytes = new Float64Array(64);
  /** Payload bytes of the stream up to and including this segment. */
  segEnd = new Float64Array(64);
  segSentAt = new Float64Array(64);
  segFlags = new Uint8Array(64);
  /** First unacknowledged segment (SND.UNA). */
  una = 0;
  /** Next segment to send: below `high` only after a timeout (go-back-N). */
  nxt = 0;
  /** One past the highest segment ever sent (HighData). */
  high = 0;
  /** One past the last segment handed to the connection. */
  tail = 0;
  /** Stream bytes before `una`. */
  unaOff = 0;
  tailOff = 0;

  // Sender (bytes, as RFC 5681 counts).
  cwnd = 0;
  ssthresh = Infinity;
  cong = CA_OPEN;
  dupAcks = 0;
  /** Segments after `una` that duplicate ACKs report as having left the network (RFC 6675's pipe). */
  sacked = 0;
  /** RFC 6582's recovery point: `high` when the current loss episode began. */
  recover = 0;
  recoverActive = false;
  firstPartialAck = true;
  srtt = NaN;
  rttvar = NaN;
  rto = 0;
  /** Consecutive timeouts without an ACK of new data. */
  timeouts = 0;
  /** Segments from here on were first sent after the last timeout (the RTT history ns-3 and RFC 6298 keep). */
  histFrom = 0;
  timerAt = -1;
  /** When the timer was last set (to order it against a packet due at the same instant). */
  timerSetAt = 0;
  timerEventAt = -1;
  synTries = 0;
  synSentAt = 0;
  lastActiveMs = 0;

  // Receiver.
  rcvNxt = 0;
  rcvOpen = false;
  /** Segments held above a hole. */
  outOfOrder = 0;
  delAckCount = 0;
  delAckAt = -1;
  delAckSetAt = 0;
  /** When the reverse path is free again (controlPacketsOnLink). */
  reverseFreeAt = 0;

  // Payloads in order: their request slots and the segment each ends before.
  reqs: number[] = [];
  ends: number[] = [];
  reqHead = 0;

  /** Stream bytes before segment `seq` (una ≤ seq ≤ tail). */
  bytesBefore(seq: number): number {
    return seq === this.una ? this.unaOff : this.segEnd[(seq - 1) & this.mask];
  }

  /**
   * Bytes the sender takes to be in the network: sent and unacknowledged, less what duplicate
   * ACKs reported as received and a head taken as lost.
   */
  pipe(): number {
    let p = this.bytesBefore(this.nxt) - this.unaOff;
    if (this.sacked > 0) p -= this.bytesBefore(this.una + 1 + this.sacked) - this.bytesBefore(this.una + 1);
    if (this.una < this.high && (this.segFlags[this.una & this.mask] & HEAD_LOST) !== 0) p -= this.segBytes[this.una & this.mask];
    return p;
  }

  append(payloadBytes: number): void {
    if (this.tail - this.una > this.mask) {
      const size = (this.mask + 1) * 2;
      this.segBytes = growRing(this.segBytes, size, this.mask, this.una, this.tail);
      this.segEnd = growRing(this.segEnd, size, this.mask, this.una, this.tail);
      this.segSentAt = growRing(this.segSentAt, size, this.mask, this.una, this.tail);
      this.segFlags = growRing(this.segFlags, size, this.mask, this.una, this.tail);
      this.mask = size - 1;
    }
    const i = this.tail & this.mask;
    this.tailOff += payloadBytes;
    this.segBytes[i] = payloadBytes;
    this.segEnd[i] = this.tailOff;
    this.segFlags[i] = 0;
    this.tail++;
  }
}

/**
 * TCP delivery over one link: a connection per device, NewReno congestion control and loss
 * recovery without SACK (RFC 5681, RFC 6582, limited transmit of RFC 3042), RFC 6298 timers
 * with Karn's rule and backoff, go-back-N after a timeout, and a receiver that acknowledges
 * cumulatively: at once for out-of-order or gap-filling segments, otherwise every segment or,
 * with delayed ACKs, every `count` segments or after `timeoutMs`. Where RFCs leave a choice,
 * the choice is ns-3.37's (TcpNewReno with classic recovery), which bench/ns3.ts compares
 * against.
 */
export class TcpConnections {
  private readonly conns: Connection[];
  private readonly sim: Simulator;
  private readonly mss: number;
  private readonly delAckCount: number;
  private readonly delAckTimeoutMs: number;
  private readonly ackDelayMs: number;
  private readonly onLink: boolean;
  private readonly evTimer: number;
  private readonly evTimerDue: number;
  private readonly evDelAck: number;
  private readonly evDelAckDue: number;
  private readonly evControl: number;

  // Control packets in flight off the bottleneck: SYNs and handshake ACKs that do not use the
  // link, SYN-ACKs and ACKs on the reverse path.
  private cDev = new Int32Array(64);
  private cKind = new Uint8Array(64);
  private cAck = new Float64Array(64);
  private cEpoch = new Int32Array(64);
  private cSentAt = new Float64Array(64);
  private cFree: number[] = [];
  private cUsed = 0;

  constructor(
    private readonly host: TcpLinkHost,
    private readonly spec: TcpDeliverySpec,
    private readonly params: TcpLinkParams,
    deviceSlots: number,
  ) {
    this.sim = host.sim;
    this.mss = params.mssBytes;
    this.delAckCount = spec.delayedAck ? spec.delayedAck.count : 1;
    this.delAckTimeoutMs = spec.delayedAck ? spec.delayedAck.timeoutMs : 0;
    this.ackDelayMs = spec.ackDelayMs ?? params.forwardDelayMs;
    this.onLink = spec.controlPacketsOnLink;
    this.conns = Array.from({ length: deviceSlots }, () => new Connection());
    this.evTimer = this.sim.register((dev) => this.onTimer(dev));
    this.evTimerDue = this.sim.register((dev) => this.onTimerDue(dev));
    this.evDelAck = this.sim.register((dev) => this.sim.schedule(0, this.evDelAckDue, dev));
    this.evDelAckDue = this.sim.register((dev) => this.onDelAckDue(dev));
    this.evControl = this.sim.register((slot) => this.onControl(slot));
  }

  /** Congestion window of a device's connection, in segments. */
  congestionWindow(dev: number): number { return this.conns[dev].cwnd / this.mss; }

  /** Sender state of a device's connection (tests and diagnostics). */
  senderState(dev: number): TcpSenderState {
    const c = this.conns[dev];
    return {
      cwndSegments: c.cwnd / this.mss, ssthreshSegments: c.ssthresh / this.mss,
      congestion: (['open', 'disorder', 'recovery', 'loss'] as const)[c.cong], rtoMs: c.rto, srttMs: c.srtt,
    };
  }

  /** Hands a payload (request slot `req`) to the device's connection now. */
  send(dev: number, req: number, payloadBytes: number): void {
    const c = this.conns[dev];
    const t = this.spec;
    const now = this.sim.nowMs;
    if (c.state === ESTABLISHED && t.idleResetMs !== undefined && c.una === c.tail && now - c.lastActiveMs >= t.idleResetMs) {
      c.state = CLOSED;
    }
    const n = Math.max(1, Math.ceil(payloadBytes / this.mss));
    for (let i = 0; i < n; i++) c.append(i < n - 1 ? this.mss : payloadBytes - (n - 1) * this.mss);
    c.reqs.push(req);
    c.ends.push(c.tail);
    if (c.state === CLOSED) this.open(dev, c);
    else if (c.state === ESTABLISHED) this.trySend(dev, c);
  }

  // ---- connection set-up -------------------------------------------------------------------

  private open(dev: number, c: Connection): void {
    const t = this.spec;
    c.epoch++;
    c.cwnd = t.initialWindowSegments * this.mss;
    c.ssthresh = Infinity;
    c.cong = CA_OPEN;
    c.dupAcks = 0;
    c.sacked = 0;
    c.recoverActive = false;
    c.firstPartialAck = true;
    c.srtt = NaN;
    c.rttvar = NaN;
    c.rto = t.initialRtoMs;
    c.timeouts = 0;
    c.histFrom = c.high;
    c.rcvOpen = false;
    c.delAckAt = -1;
    c.synTries = 0;
    if (t.handshake) {
      c.state = OPENING;
      this.sendSyn(dev, c);
      return;
    }
    c.state = ESTABLISHED;
    this.trySend(dev, c);
  }

  private sendSyn(dev: number, c: Connection): void {
    c.synTries++;
    c.synSentAt = this.sim.nowMs;
    this.sendForwardControl(dev, c, TCP_SYN);
    // The SYN's timer backs off from the initial RTO (RFC 6298 5.7, ns-3's ConnTimeout).
    this.armTimer(dev, c, this.sim.nowMs + this.spec.initialRtoMs * 2 ** (c.synTries - 1));
  }

  private onSynAck(dev: number, c: Connection): void {
    if (c.state !== OPENING) return; // a duplicate
    c.state = ESTABLISHED;
    c.timerAt = -1;
    if (c.synTries === 1) this.rttSample(c, this.sim.nowMs - c.synSentAt); // Karn: not from a resent SYN
    else c.rto = this.spec.initialRtoMs;
    if (this.onLink) this.sendForwardControl(dev, c, TCP_HANDSHAKE_ACK);
    this.trySend(dev, c);
  }

  /** Retries exhausted: the connection is given up and every payload still on it fails. */
  private abort(c: Connection): void {
    c.state = CLOSED;
    c.epoch++; // packets, ACKs and timers of this connection are ignored from now on
    c.timerAt = -1;
    c.delAckAt = -1;
    c.una = c.nxt = c.high = c.rcvNxt = c.tail;
    c.unaOff = c.tailOff;
    c.sacked = 0;
    c.outOfOrder = 0;
    const reqs = c.reqs.slice(c.reqHead);
    c.reqs = [];
    c.ends = [];
    c.reqHead = 0;
    for (const r of reqs) this.host.resolve(r, false);
  }

  // ---- sender --------------------------------------------------------------------------------

  private trySend(dev: number, c: Connection): void {
    c.lastActiveMs = this.sim.nowMs;
    for (;;) {
      let seq: number;
      if (c.una < c.high && (c.segFlags[c.una & c.mask] & HEAD_LOST) !== 0) seq = c.una;
      else if (c.nxt < c.high) seq = c.nxt; // after a timeout everything unacknowledged is resent
      else if (c.high < c.tail) seq = c.high;
      else return;
      const avail = c.cwnd - c.pipe();
      // Sender-side silly-window avoidance: a full segment, or the rest of the data if it fits.
      if (!(avail >= this.mss || c.tailOff - c.bytesBefore(seq) <= avail)) return;
      this.transmit(dev, c, seq);
      if (seq === c.high) { c.high++; c.nxt++; } else if (seq === c.nxt) c.nxt++;
    }
  }

  private transmit(dev: number, c: Connection, seq: number): void {
    const i = seq & c.mask;
    c.segFlags[i] &= ~HEAD_LOST;
    if (seq < c.high) {
      c.segFlags[i] |= RETX;
      this.host.retransmitted();
    } else {
      c.segSentAt[i] = this.sim.nowMs;
    }
    this.host.sendForward(dev, c.segBytes[i] + this.params.segmentOverheadBytes, seq, tcpTag(c.epoch, TCP_DATA));
    if (c.timerAt < 0) this.armTimer(dev, c, this.sim.nowMs + c.rto);
  }

  /** RFC 6298 smoothing; the RTO is clamped to [minRtoMs, maxRtoMs]. */
  private rttSample(c: Connection, r: number): void {
    if (Number.isNaN(c.srtt)) {
      c.srtt = r;
      c.rttvar = r / 2;
    } else {
      c.rttvar = 0.75 * c.rttvar + 0.25 * Math.abs(c.srtt - r);
      c.srtt = 0.875 * c.srtt + 0.125 * r;
    }
    this.setRto(c);
  }

  /** RTO from the estimates; this also ends a backoff (as ns-3 and Linux do on new data acknowledged). */
  private setRto(c: Connection): void {
    const t = this.spec;
    c.rto = Number.isNaN(c.srtt) ? t.initialRtoMs : Math.min(t.maxRtoMs, Math.max(t.minRtoMs, c.srtt + 4 * c.rttvar));
  }

  private onAck(dev: number, c: Connection, ack: number): void {
    if (c.state !== ESTABLISHED || ack < c.una || ack > c.high) return;
    const now = this.sim.nowMs;
    if (ack > c.una) {
      // One RTT sample per ACK, from the oldest segment it covers that has a history (Karn).
      const s = Math.max(c.una, c.histFrom);
      if (s < ack && (c.segFlags[s & c.mask] & RETX) === 0) this.rttSample(c, now - c.segSentAt[s & c.mask]);
    }
    if (ack === c.una) {
      if (c.una < c.high) this.dupAck(dev, c);
      this.trySend(dev, c);
      return;
    }
    const acked = ack - c.una;
    // Reno "SACKs" stand for the segments right after una. Those this ACK covers go with it; the
    // rest were received above the next hole, so they stay out of the pipe. If they reach the
    // new head, more segments have left than were acknowledged: the head is taken as lost.
    const headLost = c.sacked >= acked && ack < c.high;
    c.sacked = Math.min(Math.max(0, c.sacked - (acked - 1)), Math.max(0, c.high - ack - 1));
    c.unaOff = c.bytesBefore(ack);
    c.una = ack;
    if (c.nxt < ack) c.nxt = ack;
    if (headLost) c.segFlags[ack & c.mask] |= HEAD_LOST;
    c.dupAcks = 0;
    c.timeouts = 0;
    this.setRto(c);
    if (c.cong === CA_RECOVERY && ack < c.recover) {
      // Partial ACK (RFC 6582 3.2 step 5): the next hole is lost too; resend it.
      this.transmit(dev, c, ack);
      if (c.firstPartialAck) { this.armTimer(dev, c, now + c.rto); c.firstPartialAck = false; } // "impatient"
    } else if (c.cong === CA_LOSS && ack < c.recover) {
      this.increaseWindow(c, acked);
      this.armTimer(dev, c, now + c.rto);
    } else {
      let grows = acked;
      if (c.cong === CA_RECOVERY) {
        // Full ACK: recovery ends with the window it began with (RFC 6582 3.2 step 6, option 2).
        c.cwnd = c.ssthresh;
      } else if (c.cong === CA_LOSS) {
        grows = ack - c.recover;
      }
      c.cong = CA_OPEN;
      c.firstPartialAck = true;
      if (ack >= c.recover) c.recoverActive = false;
      this.increaseWindow(c, grows);
      this.armTimer(dev, c, now + c.rto);
    }
    if (c.una === c.tail) c.timerAt = -1;
    this.trySend(dev, c);
  }

  /**
   * RFC 5681 growth per ACK of new data: one segment in slow start (without byte counting, so
   * a delayed ACK grows the window by one segment for two), then SMSS²/cwnd.
   */
  private increaseWindow(c: Connection, segmentsAcked: number): void {
    if (segmentsAcked <= 0) return;
    if (c.cwnd < c.ssthresh) { c.cwnd += this.mss; segmentsAcked--; }
    if (c.cwnd >= c.ssthresh && segmentsAcked > 0) c.cwnd += Math.max(1, Math.floor((this.mss * this.mss) / c.cwnd));
  }

  private dupAck(dev: number, c: Connection): void {
    // After a timeout, duplicate ACKs come from resent segments the receiver had; they are not
    // a loss signal until the recovery point is acknowledged (RFC 6582 section 4).
    if (c.cong === CA_LOSS) return;
    if (c.cong === CA_RECOVERY) { this.addRenoSack(c); return; } // inflation, as a smaller pipe
    c.dupAcks++;
    c.cong = CA_DISORDER;
    if (c.dupAcks === DUP_THRESH && (c.una >= c.recover || !c.recoverActive)) this.enterRecovery(dev, c);
    else this.addRenoSack(c); // limited transmit: one new segment per duplicate ACK
  }

  private addRenoSack(c: Connection): void {
    if (c.sacked < c.high - c.una - 1) c.sacked++;
  }

  /** Fast retransmit (RFC 6582 3.2 step 2): one window reduction for the whole episode. */
  private enterRecovery(dev: number, c: Connection): void {
    this.addRenoSack(c);
    c.recover = c.high;
    c.recoverActive = true;
    c.cong = CA_RECOVERY;
    c.firstPartialAck = true;
    // Half of what is in flight: the data outstanding less the three segments the duplicate
    // ACKs say have left (within RFC 5681's "no more than FlightSize/2").
    c.ssthresh = Math.max(2 * this.mss, Math.floor(c.pipe() / 2));
    c.cwnd = c.ssthresh;
    this.transmit(dev, c, c.una);
  }

  private onTimeout(dev: number, c: Connection): void {
    if (c.state === OPENING) {
      if (c.synTries > this.spec.maxRetries) this.abort(c);
      else this.sendSyn(dev, c);
      return;
    }
    if (c.una === c.high) return;
    if (++c.timeouts > this.spec.maxRetries) { this.abort(c); return; }
    // ssthresh = max(FlightSize/2, 2 SMSS) (RFC 5681 eq. 4) on every timeout, FlightSize being
    // what is in flight: after a first timeout only the resent segments (RFC 5681 requires the
    // reduction for the first timeout of a segment; ns-3 makes it on later ones too). The RTO
    // backs off (RFC 6298 5.5) and everything unacknowledged is sent again.
    c.ssthresh = Math.max(2 * this.mss, Math.floor(c.pipe() / 2));
    c.cwnd = this.mss;
    c.cong = CA_LOSS;
    c.dupAcks = 0;
    c.sacked = 0;
    c.recover = c.high;
    c.recoverActive = true;
    c.histFrom = c.high;
    c.rto = Math.min(this.spec.maxRtoMs, 2 * c.rto);
    c.nxt = c.una;
    this.trySend(dev, c);
  }

  // ---- timers: one pending event each, moved lazily -----------------------------------------

  private armTimer(dev: number, c: Connection, at: number): void {
    c.timerAt = at;
    c.timerSetAt = this.sim.nowMs;
    if (c.timerEventAt < 0 || at < c.timerEventAt) {
      c.timerEventAt = at;
      this.sim.scheduleAt(at, this.evTimer, dev);
    }
  }

  private onTimer(dev: number): void {
    const c = this.conns[dev];
    const now = this.sim.nowMs;
    if (now !== c.timerEventAt) return; // superseded by an earlier one
    c.timerEventAt = -1;
    if (c.timerAt < 0) return;
    if (now < c.timerAt) {
      c.timerEventAt = c.timerAt;
      this.sim.scheduleAt(c.timerAt, this.evTimer, dev);
      return;
    }
    // A packet due at this very instant goes first if it was sent before the timer was set, as
    // in ns-3, which schedules an arrival when the packet starts on the wire: the timer waits
    // until every arrival at this instant has been seen (see timerFirst).
    this.sim.schedule(0, this.evTimerDue, dev);
  }

  private onTimerDue(dev: number): void {
    const c = this.conns[dev];
    if (c.timerAt < 0 || this.sim.nowMs < c.timerAt) return; // re-armed or stopped meanwhile
    c.timerAt = -1;
    this.onTimeout(dev, c);
  }

  /**
   * Whether a timer due now (set at `setAt`) runs out before a packet arriving now that went
   * on the wire at `sentAt`: only if the packet was sent after the timer was set.
   */
  private timerFirst(at: number, setAt: number, sentAt: number): boolean {
    return at >= 0 && at <= this.sim.nowMs && sentAt > setAt;
  }

  private onDelAckDue(dev: number): void {
    const c = this.conns[dev];
    if (this.sim.nowMs === c.delAckAt) this.sendAck(dev, c);
  }

  // ---- receiver ------------------------------------------------------------------------------

  /** A forward packet (sent with sendForward, on the wire from `sentAtMs`) has reached the receiver. */
  arrive(dev: number, seq: number, tag: number, sentAtMs: number): void {
    const c = this.conns[dev];
    if (tag >> 2 !== c.epoch) return; // from a connection given up since
    if (this.timerFirst(c.delAckAt, c.delAckSetAt, sentAtMs)) this.sendAck(dev, c);
    switch (tcpKind(tag)) {
      case TCP_SYN: this.sendReverse(dev, c, TCP_SYN_ACK, 0); break;
      case TCP_HANDSHAKE_ACK: this.receiverOpens(c); break;
      default: this.receiveData(dev, c, seq);
    }
  }

  /** The first data segment of a connection is acknowledged at once (ns-3; Linux's quick ACKs). */
  private receiverOpens(c: Connection): void {
    if (c.rcvOpen) return;
    c.rcvOpen = true;
    c.delAckCount = this.delAckCount - 1;
  }

  private receiveData(dev: number, c: Connection, seq: number): void {
    this.receiverOpens(c);
    if (seq < c.rcvNxt || (c.segFlags[seq & c.mask] & RCVD) !== 0) { this.sendAck(dev, c); return; }
    const before = c.rcvNxt;
    if (seq === c.rcvNxt) {
      c.rcvNxt++;
      while (c.rcvNxt < c.high && (c.segFlags[c.rcvNxt & c.mask] & RCVD) !== 0) { c.outOfOrder--; c.rcvNxt++; }
      this.deliverInOrder(c);
    } else {
      c.segFlags[seq & c.mask] |= RCVD;
      c.outOfOrder++;
    }
    // Out of order, or filling a hole: ACK at once (RFC 5681 4.2); otherwise every
    // `count`-th segment, or when the delayed-ACK timer runs out.
    if (c.outOfOrder > 0 || c.rcvNxt > before + 1 || ++c.delAckCount >= this.delAckCount) {
      this.sendAck(dev, c);
    } else if (c.delAckAt < 0) {
      c.delAckAt = this.sim.nowMs + this.delAckTimeoutMs;
      c.delAckSetAt = this.sim.nowMs;
      this.sim.scheduleAt(c.delAckAt, this.evDelAck, dev);
    }
  }

  /** Hands completed payloads to the application in the order they were sent (a byte stream). */
  private deliverInOrder(c: Connection): void {
    while (c.reqHead < c.reqs.length && c.ends[c.reqHead] <= c.rcvNxt) this.host.resolve(c.reqs[c.reqHead++], true);
    if (c.reqHead > 1024 && c.reqHead * 2 > c.reqs.length) {
      c.reqs.splice(0, c.reqHead);
      c.ends.splice(0, c.reqHead);
      c.reqHead = 0;
    }
  }

  private sendAck(dev: number, c: Connection): void {
    c.delAckCount = 0;
    c.delAckAt = -1;
    this.sendReverse(dev, c, TCP_ACK, c.rcvNxt);
  }

  // ---- control packets -----------------------------------------------------------------------

  private sendForwardControl(dev: number, c: Connection, kind: number): void {
    if (this.onLink) { this.host.sendForward(dev, this.params.controlWireBytes, 0, tcpTag(c.epoch, kind)); return; }
    if (kind === TCP_SYN) this.scheduleControl(dev, c, kind, 0, this.sim.nowMs, this.sim.nowMs + this.params.forwardDelayMs);
  }

  /** SYN-ACKs and ACKs: on the reverse path, serialized at its rate and lossy with controlPacketsOnLink. */
  private sendReverse(dev: number, c: Connection, kind: number, ack: number): void {
    let start = this.sim.nowMs;
    let end = start;
    if (this.onLink) {
      start = Math.max(start, c.reverseFreeAt);
      end = start + (this.params.controlWireBytes * 8000) / this.params.reverseRateBps;
      c.reverseFreeAt = end;
      if (this.params.reverseLoss.lost(false)) return;
    }
    this.scheduleControl(dev, c, kind, ack, start, end + this.ackDelayMs);
  }

  private scheduleControl(dev: number, c: Connection, kind: number, ack: number, sentAt: number, at: number): void {
    let s: number;
    if (this.cFree.length > 0) s = this.cFree.pop()!;
    else {
      s = this.cUsed++;
      if (s >= this.cDev.length) {
        const n = this.cDev.length * 2;
        this.cDev = grow(this.cDev, n); this.cKind = grow(this.cKind, n); this.cAck = grow(this.cAck, n);
        this.cEpoch = grow(this.cEpoch, n); this.cSentAt = grow(this.cSentAt, n);
      }
    }
    this.cDev[s] = dev;
    this.cKind[s] = kind;
    this.cAck[s] = ack;
    this.cEpoch[s] = c.epoch;
    this.cSentAt[s] = sentAt;
    this.sim.scheduleAt(at, this.evControl, s);
  }

  private onControl(s: number): void {
    const dev = this.cDev[s];
    const kind = this.cKind[s];
    const ack = this.cAck[s];
    const epoch = this.cEpoch[s];
    const sentAt = this.cSentAt[s];
    this.cFree.push(s);
    const c = this.conns[dev];
    if (epoch !== c.epoch) return;
    if (kind === TCP_ACK || kind === TCP_SYN_ACK) {
      if (this.timerFirst(c.timerAt, c.timerSetAt, sentAt)) { c.timerAt = -1; this.onTimeout(dev, c); }
      if (kind === TCP_ACK) this.onAck(dev, c, ack); else this.onSynAck(dev, c);
    } else {
      this.arrive(dev, 0, tcpTag(epoch, kind), sentAt);
    }
  }
}
