import { z } from 'zod';
import type { Simulator } from '../engine/simulator';
import type { Rng } from '../engine/rng';

/**
 * Called, at the simulated time of the event, when a payload handed to a link has fully
 * arrived at the far end (`ok` true) or has been given up on (`ok` false, e.g. a datagram
 * lost or retries exhausted).
 */
export type DeliveryCallback = (requestId: number, ok: boolean) => void;

/** Counters every link keeps. */
export interface LinkStats {
  payloads: number;
  payloadBytes: number;
  delivered: number;
  failed: number;
  packets: number;
  headerBytes: number;
  packetsLost: number;
  packetsDropped: number;
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
}

export function emptyStats(): LinkStats {
  return { payloads: 0, payloadBytes: 0, delivered: 0, failed: 0, packets: 0, headerBytes: 0, packetsLost: 0, packetsDropped: 0, retransmissions: 0 };
}

/** Constant-rate link: serialization at `rateBps` (bits per second) plus one-way delay. */
export const constantLinkSchema = z
  .object({
    type: z.literal('constant'),
    rateBps: z.number().positive().finite().describe('link rate in bits per second'),
    delayMs: z.number().nonnegative().finite().default(0).describe('one-way propagation delay in ms'),
  })
  .strict();

/** Every link spec a scenario may give (the network module extends this union). */
export const linkSpecSchema = constantLinkSchema;
export type LinkSpec = z.infer<typeof linkSpecSchema>;

/** FIFO constant-rate link: a payload waits for the previous one, then takes bits/rate. */
export class ConstantRateLink implements Link {
  readonly name: string;
  private busyUntilMs = 0;
  private readonly st = emptyStats();
  private readonly deliverType: number;
  constructor(private readonly spec: z.infer<typeof constantLinkSchema>, private readonly ctx: LinkContext) {
    this.name = ctx.name;
    this.deliverType = ctx.sim.register((id) => {
      this.st.delivered++;
      ctx.onDelivered(id, true);
    });
  }
  send(requestId: number, payloadBytes: number): void {
    const now = this.ctx.sim.nowMs;
    const start = Math.max(now, this.busyUntilMs);
    const done = start + (payloadBytes * 8 * 1000) / this.spec.rateBps;
    this.busyUntilMs = done;
    this.st.payloads++;
    this.st.payloadBytes += payloadBytes;
    this.ctx.sim.scheduleAt(done + this.spec.delayMs, this.deliverType, requestId);
  }
  stats(): LinkStats { return { ...this.st }; }
}

/**
 * Builds the links of one direction for `deviceCount` devices: by default one link per
 * device (index = device). A shared link returns the same instance for every device.
 */
export function createDeviceLinks(spec: LinkSpec, deviceCount: number, ctx: LinkContext): Link[] {
  const links: Link[] = [];
  for (let d = 0; d < deviceCount; d++) {
    links.push(new ConstantRateLink(spec, { ...ctx, name: `${ctx.name}[${d}]`, rng: ctx.rng.fork(`${ctx.name}[${d}]`) }));
  }
  return links;
}
