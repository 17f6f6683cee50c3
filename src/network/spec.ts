import { z } from 'zod';

/*
 * Link specifications as a scenario writes them (uplink:/downlink:). One discriminated union
 * on `type` picks the rate model; every type shares the packet, queue, delay, loss, delivery
 * and sharing fields below. Units are in the field names.
 */

const nonNeg = z.number().nonnegative().finite();
const prob = z.number().min(0).max(1);
/*
 * Physical ranges. Values outside them are valid numbers but no link has them, and they would
 * make a run take forever (a packet every 1e300 ms, a rate change every 1e-300 ms) or exhaust
 * memory; they are refused with the range in the message.
 */
/** At most 1e7 ms (2.8 hours) for any one-way delay, jitter or timer. */
const MAX_DELAY_MS = 1e7;
const delayField = () => nonNeg.max(MAX_DELAY_MS, { message: `must be at most ${MAX_DELAY_MS} ms (2.8 hours)` });
const timerField = () => z.number().positive().finite().max(MAX_DELAY_MS, { message: `must be at most ${MAX_DELAY_MS} ms (2.8 hours)` });
/** Rates from 1 bit/s (below any real radio, LoRa SF12 is 250) to 10 Tbit/s. */
const rateField = () => z.number().finite().min(1, { message: 'must be at least 1 bit/s' }).max(1e13, { message: 'must be at most 1e13 bit/s (10 Tbit/s)' });

/** Per-packet loss on the channel, drawn when a packet leaves the bottleneck. */
export const lossSchema = z.discriminatedUnion('model', [
  z.object({ model: z.literal('none') }).strict(),
  z.object({
    model: z.literal('bernoulli'),
    p: prob.describe('probability that a packet is lost'),
  }).strict(),
  z.object({
    model: z.literal('gilbert-elliott'),
    p: prob.describe('probability of moving from the good to the bad state, per packet'),
    r: prob.describe('probability of moving from the bad to the good state, per packet'),
    badLoss: prob.default(1).describe('loss probability in the bad state (1-h in netem)'),
    goodLoss: prob.default(0).describe('loss probability in the good state (1-k in netem)'),
  }).strict(),
  z.object({
    model: z.literal('list'),
    drop: z.array(z.number().int().positive()).min(1)
      .describe('data packets to lose: the k-th data packet to leave the bottleneck, 1-based, retransmissions counted, SYNs and ACKs not'),
  }).strict(),
]);
export type LossSpec = z.infer<typeof lossSchema>;

/** How a payload's packets are delivered. */
export const deliverySchema = z.discriminatedUnion('mode', [
  z.object({ mode: z.literal('datagram') }).strict(),
  z.object({
    mode: z.literal('arq'),
    rtoMs: timerField().describe('time from a lost transmission to its retransmission, ms'),
    maxRetries: z.number().int().nonnegative().default(4).describe('retransmissions before the payload fails'),
  }).strict(),
  z.object({
    mode: z.literal('tcp'),
    initialWindowSegments: z.number().int().positive().default(10).describe('initial congestion window (RFC 6928)'),
    initialRtoMs: timerField().default(1000).describe('RTO before any RTT sample (RFC 6298)'),
    minRtoMs: timerField().default(200).describe('lower bound of the RTO (Linux uses 200 ms)'),
    maxRtoMs: timerField().default(60000).describe('upper bound of the backed-off RTO'),
    maxRetries: z.number().int().nonnegative().default(15).describe('timeouts in a row (or SYNs resent) before the connection is given up and its payloads fail'),
    handshake: z.boolean().default(true).describe('a new connection first waits one round trip (SYN, SYN-ACK)'),
    ackDelayMs: delayField().optional().describe('one-way delay of ACKs on the reverse path (default: delayMs)'),
    delayedAck: z.union([
      z.literal(false),
      z.object({
        count: z.number().int().min(2).default(2).describe('segments per ACK (RFC 1122 allows up to 2 full segments)'),
        timeoutMs: timerField().default(40).describe('longest wait for the next segment, ms (Linux: 40, ns-3: 200, RFC 1122: at most 500)'),
      }).strict(),
    ]).default(false).describe('receiver delays ACKs; false = an ACK for every segment'),
    controlPacketsOnLink: z.boolean().default(false)
      .describe('SYNs and the handshake ACK queue and pay airtime on this link, SYN-ACKs and ACKs on a reverse path of reverseRateBps; all of them can be lost'),
    reverseRateBps: rateField().optional()
      .describe('rate of the reverse path for SYN-ACKs and ACKs with controlPacketsOnLink (default: rateBps of a constant link)'),
    idleResetMs: timerField().optional()
      .describe('after this long idle the connection is closed; the next payload opens a new one'),
  }).strict(),
]);
export type DeliverySpec = z.infer<typeof deliverySchema>;

/** Drop-tail limits of the bottleneck queue (the packet in service is not counted). */
export const queueSchema = z.object({
  limitPackets: z.number().int().positive().optional().describe('drop-tail limit in packets'),
  limitBytes: z.number().int().positive().optional().describe('drop-tail limit in bytes'),
}).strict();

const commonFields = {
  delayMs: delayField().default(0).describe('one-way propagation delay, ms'),
  jitterMs: delayField().default(0).describe('jitter: half-width (uniform), standard deviation (normal) or scale (pareto), ms'),
  jitterDistribution: z.enum(['uniform', 'normal', 'pareto']).default('uniform'),
  reorder: z.boolean().default(false).describe('let jitter reorder packets (otherwise a packet never overtakes the previous one)'),
  mtuBytes: z.number().int().min(68, { message: 'must be at least 68 bytes (the IPv4 minimum, RFC 791)' }).max(65535, { message: 'must be at most 65535 bytes' }).default(1500).describe('largest IP packet, bytes'),
  headerBytes: z.number().int().nonnegative().optional()
    .describe('IP+transport header bytes per packet (default 28 = IPv4+UDP; 40 = IPv4+TCP for tcp delivery)'),
  linkOverheadBytes: z.number().int().nonnegative().max(65535).default(0).describe('link-layer bytes added to every packet on the bottleneck'),
  queue: queueSchema.optional().describe('drop-tail limits; omitted = unlimited'),
  loss: lossSchema.default({ model: 'none' }),
  delivery: deliverySchema.default({ mode: 'datagram' }),
  sharing: z.enum(['per-device', 'fifo', 'fair']).default('per-device')
    .describe('per-device: one link per device; fifo/fair: all devices share one link (one FIFO, or per-device fair share)'),
};

/** Constant service rate. */
export const constantLinkSchema = z.object({
  type: z.literal('constant'),
  rateBps: rateField().describe('link rate in bits per second'),
  dutyCycle: z.number().min(1e-4, { message: 'must be at least 0.0001 (0.01 %)' }).max(1).default(1)
    .describe('fraction of time the sender may transmit (e.g. 0.01 in EU868 LoRaWAN sub-bands)'),
  ...commonFields,
}).strict();

/** One state of a Markov-modulated rate. */
export const markovStateSchema = z.object({
  rateBps: nonNeg.max(1e13, { message: 'must be at most 1e13 bit/s (10 Tbit/s)' }).refine((r) => r === 0 || r >= 1, { message: 'must be 0 (an outage) or at least 1 bit/s' })
    .describe('service rate in this state, bits per second (0 = outage)'),
  meanSojournMs: z.number().finite().min(0.01, { message: 'must be at least 0.01 ms (faster rate changes would flood the run with events)' })
    .max(1e9, { message: 'must be at most 1e9 ms' }).describe('mean (exponential) time spent in this state, ms'),
}).strict();

/** Rate that switches between states after exponential sojourns (Gilbert–Elliott with 2 states). */
export const markovLinkSchema = z.object({
  type: z.literal('markov'),
  states: z.array(markovStateSchema).min(2),
  transitions: z.array(z.array(prob)).optional()
    .describe('row i: probabilities of jumping from state i to each state (default: uniform over the others)'),
  dutyCycle: z.number().min(1e-4, { message: 'must be at least 0.0001 (0.01 %)' }).max(1).default(1),
  ...commonFields,
}).strict();

/** Capacity from a trace file: mahimahi opportunities or a rate series. */
export const traceLinkSchema = z.object({
  type: z.literal('trace'),
  file: z.string().min(1).describe('trace file; a relative path is relative to the scenario file'),
  format: z.enum(['auto', 'mahimahi', 'mbps', 'csv-bytes']).default('auto')
    .describe('mahimahi: one ms timestamp per 1500-byte opportunity; mbps: "time_s rate_Mbps"; csv-bytes: "seconds,bytes_per_second"'),
  opportunityBytes: z.number().int().positive().default(1500).describe('bytes one delivery opportunity carries'),
  startOffsetMs: z.union([z.literal('random'), z.number().int().nonnegative()]).default('random')
    .describe('where in the trace the link starts; random = drawn per link from the seed'),
  ...commonFields,
}).strict();

function checkSpec(spec: { type: string; mtuBytes: number; headerBytes?: number; states?: unknown[]; transitions?: number[][]; delivery: DeliverySpec; queue?: { limitPackets?: number; limitBytes?: number } }, ctx: z.RefinementCtx): void {
  const header = spec.headerBytes ?? defaultHeaderBytes(spec.delivery);
  if (header >= spec.mtuBytes) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['headerBytes'], message: `must be smaller than mtuBytes (${spec.mtuBytes}), got ${header}` });
  }
  if (spec.queue?.limitBytes !== undefined && spec.queue.limitBytes < spec.mtuBytes) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['queue', 'limitBytes'], message: `must hold at least one packet (mtuBytes ${spec.mtuBytes})` });
  }
  if (spec.delivery.mode === 'tcp' && spec.delivery.minRtoMs > spec.delivery.maxRtoMs) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['delivery', 'minRtoMs'], message: 'must not exceed maxRtoMs' });
  }
  if (spec.delivery.mode === 'tcp' && spec.delivery.controlPacketsOnLink && spec.delivery.reverseRateBps === undefined && spec.type !== 'constant') {
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['delivery', 'reverseRateBps'], message: `is needed with controlPacketsOnLink on a ${spec.type} link (the rate ACKs travel back at)` });
  }
  if (spec.states && !(spec.states as Array<{ rateBps: number }>).some((st) => st.rateBps > 0)) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['states'], message: 'at least one state needs a rate above 0' });
  }
  if (spec.states && spec.transitions) {
    const n = spec.states.length;
    if (spec.transitions.length !== n) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['transitions'], message: `expected ${n} rows (one per state)` });
      return;
    }
    spec.transitions.forEach((row, i) => {
      const sum = row.reduce((a, b) => a + b, 0);
      if (row.length !== n || Math.abs(sum - 1) > 1e-9 || row[i] !== 0) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['transitions', i], message: `expected ${n} probabilities summing to 1 with 0 on the diagonal` });
      }
    });
  }
}

/** Every link spec a scenario may give, discriminated by `type`. */
export const linkSpecSchema = z
  .discriminatedUnion('type', [constantLinkSchema, markovLinkSchema, traceLinkSchema])
  .superRefine((spec, ctx) => checkSpec(spec, ctx));
export type LinkSpec = z.infer<typeof linkSpecSchema>;
/** What a scenario file may contain (before defaults are applied). */
export type LinkSpecInput = z.input<typeof linkSpecSchema>;
export type ConstantLinkSpec = z.infer<typeof constantLinkSchema>;
export type MarkovLinkSpec = z.infer<typeof markovLinkSchema>;
export type TraceLinkSpec = z.infer<typeof traceLinkSchema>;

/** Header bytes per packet when the spec does not say: IPv4+UDP (28), or IPv4+TCP (40) for tcp. */
export function defaultHeaderBytes(delivery: DeliverySpec): number {
  return delivery.mode === 'tcp' ? 40 : 28;
}
