import type { Simulator } from '../engine/simulator';
import type { Rng } from '../engine/rng';

/**
 * Called, at the simulated time of the event, when a payload handed to a link has fully
 * arrived at the far end (`ok` true) or has been given up on (`ok` false, e.g. a datagram
 * lost or retries exhausted).
 */
export type DeliveryCallback = (requestId: number, ok: boolean) => void;

/**
 * Called when a packet has left the bottleneck: it occupied the sender's radio from
 * `startMs` (when the bottleneck took it from the queue) to `endMs` (now), carrying
 * `wireBytes` (headers and link overhead included; lost packets and retransmissions are
 * reported too, since they cost airtime). `deviceIndex` is the sending (uplink) or receiving
 * (downlink) device. Used for radio energy.
 */
export type AirtimeCallback = (deviceIndex: number, startMs: number, endMs: number, wireBytes: number) => void;

/** Counters every link keeps. */
export interface LinkStats {
  /** Payloads handed to send(). */
  payloads: number;
  payloadBytes: number;
  /** Payloads that arrived whole (onDelivered ok=true). */
  delivered: number;
  /** Payloads given up on (onDelivered ok=false). */
  failed: number;
  /** Packets the payloads were cut into (first transmissions only). */
  packets: number;
  /** Transport/IP header bytes of those packets. */
  headerBytes: number;
  /** Link-layer overhead bytes of those packets. */
  linkOverheadBytes: number;
  /** Bytes that went through the bottleneck, retransmissions and overheads included. */
  wireBytes: number;
  /** Packets lost on the channel (loss model), retransmissions included. */
  packetsLost: number;
  /** Packets refused by a full drop-tail queue. */
  packetsDropped: number;
  /** Packets sent again by ARQ or TCP. */
  retransmissions: number;
}

/** A one-way link. send() is called at the simulator's current time. */
export interface Link {
  readonly name: string;
  /** Hands `payloadBytes` for request `requestId`, from device `deviceIndex`, to the link now. */
  send(requestId: number, payloadBytes: number, deviceIndex: number): void;
  stats(): LinkStats;
}

/** What a link needs from the system that owns it. */
export interface LinkContext {
  sim: Simulator;
  /** Random stream owned by this link (already forked for it). */
  rng: Rng;
  /** Name used in messages and results, e.g. "uplink". */
  name: string;
  onDelivered: DeliveryCallback;
  /** Optional observer of every packet's time on the bottleneck (radio energy). */
  onAirtime?: AirtimeCallback;
  /** Folder that relative trace paths are resolved against (default: the working directory). */
  baseDir?: string;
}

/** A zeroed LinkStats. */
export function emptyStats(): LinkStats {
  return {
    payloads: 0, payloadBytes: 0, delivered: 0, failed: 0, packets: 0, headerBytes: 0,
    linkOverheadBytes: 0, wireBytes: 0, packetsLost: 0, packetsDropped: 0, retransmissions: 0,
  };
}
