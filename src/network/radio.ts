/**
 * Radio power models: the energy a device's network interface spends on a request. The
 * form is Huang et al.'s (MobiSys 2012): while the radio transfers data its power is
 * α_u·t_u + α_d·t_d + β (t = throughput in Mbit/s); after the last transfer it stays in a
 * high-power tail for tailMs at tailMw before it drops to idle; leaving idle costs a
 * promotion of promotionMs at promotionMw. Since α·t integrated over a transfer is α times
 * the megabits moved, a transfer of B bits over D ms costs α·B/10⁶ mJ + β·D/1000 mJ.
 *
 * Activity comes from the link model's actual packet transmissions (EmulatedLink's airtime
 * observer), so retransmissions, slow links and queueing on a shared cell all cost energy.
 * Radio time when nothing is sent (idle, paging) is part of the device's idle power.
 *
 * Adding a radio = one entry in RADIOS.
 */
import { z } from 'zod';

/** One radio's power model. Units in the names: mW, ms, mW per Mbit/s. */
export interface RadioModel {
  name: string;
  description: string;
  source: string;
  uplinkMwPerMbps: number;
  downlinkMwPerMbps: number;
  /** Base power while sending / receiving (Huang's β for both in cellular and WiFi). */
  uplinkBaseMw: number;
  downlinkBaseMw: number;
  tailMs: number;
  tailMw: number;
  promotionMs: number;
  promotionMw: number;
}

const HUANG = 'J. Huang, F. Qian, A. Gerber, Z. M. Mao, S. Sen, O. Spatscheck, "A Close Examination of Performance and Power Characteristics of 4G LTE Networks", MobiSys 2012, Table 3 (power model parameters, HTC ThunderBolt)';

/** Every shipped radio model, by name. */
export const RADIOS: readonly RadioModel[] = [
  {
    name: 'lte', description: 'LTE (4G), RRC connected with DRX tail', source: HUANG,
    uplinkMwPerMbps: 438.39, downlinkMwPerMbps: 51.97, uplinkBaseMw: 1288.04, downlinkBaseMw: 1288.04,
    tailMs: 11576, tailMw: 1060.0, promotionMs: 260.1, promotionMw: 1210.7,
  },
  {
    name: '3g', description: 'UMTS (3G), DCH/FACH tail', source: HUANG,
    uplinkMwPerMbps: 868.98, downlinkMwPerMbps: 122.12, uplinkBaseMw: 817.88, downlinkBaseMw: 817.88,
    tailMs: 8088.2, tailMw: 803.9, promotionMs: 582.1, promotionMw: 659.4,
  },
  {
    name: 'wifi', description: '802.11 WiFi with power save', source: HUANG,
    uplinkMwPerMbps: 283.17, downlinkMwPerMbps: 137.01, uplinkBaseMw: 132.86, downlinkBaseMw: 132.86,
    tailMs: 238.1, tailMw: 119.3, promotionMs: 79.1, promotionMw: 124.4,
  },
  {
    name: 'nbiot', description: 'NB-IoT modem: transmit and receive power of the 3GPP battery-life evaluation',
    source: '3GPP TR 45.820 v13.1.0 (Cellular system support for ultra-low complexity and low throughput IoT), battery-life evaluation assumptions: transmit 500 mW (23 dBm), receive 80 mW; release right after the exchange (no connected-mode tail)',
    uplinkMwPerMbps: 0, downlinkMwPerMbps: 0, uplinkBaseMw: 500, downlinkBaseMw: 80,
    tailMs: 0, tailMw: 0, promotionMs: 0, promotionMw: 0,
  },
  {
    name: 'lora', description: 'LoRa transceiver (Semtech SX1276) at +13 dBm, 3.3 V',
    source: 'Semtech SX1276/77/78/79 datasheet rev. 7, Table 6: transmit 29 mA at +13 dBm (RFO), receive 10.8 mA (LnaBoost off, band 1); x 3.3 V supply',
    uplinkMwPerMbps: 0, downlinkMwPerMbps: 0, uplinkBaseMw: 95.7, downlinkBaseMw: 35.64,
    tailMs: 0, tailMw: 0, promotionMs: 0, promotionMw: 0,
  },
];

/** Radio names. */
export const RADIO_NAMES: readonly string[] = RADIOS.map((r) => r.name);

/** A radio named in a scenario: a shipped model's name, or a full model inline. */
export const radioSpecSchema = z.union([
  z.enum(RADIO_NAMES as [string, ...string[]]),
  z.object({
    name: z.string().min(1),
    description: z.string().default(''),
    source: z.string().min(1).describe('where the numbers come from'),
    uplinkMwPerMbps: z.number().finite().nonnegative(),
    downlinkMwPerMbps: z.number().finite().nonnegative(),
    uplinkBaseMw: z.number().finite().nonnegative(),
    downlinkBaseMw: z.number().finite().nonnegative(),
    tailMs: z.number().finite().nonnegative().default(0),
    tailMw: z.number().finite().nonnegative().default(0),
    promotionMs: z.number().finite().nonnegative().default(0),
    promotionMw: z.number().finite().nonnegative().default(0),
  }).strict(),
]);
export type RadioSpec = z.infer<typeof radioSpecSchema>;

/** The model a spec names. */
export function radioModel(spec: RadioSpec): RadioModel {
  if (typeof spec !== 'string') return spec as RadioModel;
  return RADIOS.find((r) => r.name === spec)!;
}

/** What a meter accumulated (mJ and ms). */
export interface RadioEnergy {
  energyMj: number;
  transferMj: number;
  tailMj: number;
  promotionMj: number;
  activeMs: number;
  promotions: number;
}

/**
 * Accumulates one device's radio energy from its packets' airtime. Intervals may be reported
 * out of time order by up to `reorderMs` (a downlink packet is reported when it leaves the
 * bottleneck but received a propagation delay later; an uplink packet when its airtime
 * ends): they are merged into a short list of pending active periods, and a period is
 * settled once every interval that could still overlap it has been seen. Overlapping
 * transmissions (uplink and downlink at once, back-to-back packets) form one active period,
 * which pays the base power once (the larger base of its directions); the gap to the next
 * period costs tail power for up to tailMs, and a gap longer than the tail a promotion.
 */
export class RadioMeter {
  /** Pending active periods, disjoint and sorted: [start, end, base] triples. */
  private pending: number[] = [];
  /** End of the last settled period (-Infinity before the first). */
  private settledEnd = -Infinity;
  private readonly e: RadioEnergy = { energyMj: 0, transferMj: 0, tailMj: 0, promotionMj: 0, activeMs: 0, promotions: 0 };

  constructor(readonly model: RadioModel, readonly reorderMs = 0) {}

  /** A packet of wireBytes occupied the radio from startMs to endMs (direction up or down). */
  airtime(up: boolean, startMs: number, endMs: number, wireBytes: number, nowMs = endMs): void {
    const m = this.model;
    this.e.transferMj += ((up ? m.uplinkMwPerMbps : m.downlinkMwPerMbps) * wireBytes * 8) / 1e6;
    const base = up ? m.uplinkBaseMw : m.downlinkBaseMw;
    // Time already settled is never counted twice (only possible beyond reorderMs).
    let s = Math.max(startMs, this.settledEnd);
    let e = Math.max(endMs, s);
    let b = base;
    const P = this.pending;
    const kept: number[] = [];
    let placed = false;
    for (let i = 0; i < P.length; i += 3) {
      const ps = P[i], pe = P[i + 1], pb = P[i + 2];
      if (pe < s) kept.push(ps, pe, pb);
      else if (ps > e) {
        if (!placed) { kept.push(s, e, b); placed = true; }
        kept.push(ps, pe, pb);
      } else {
        s = Math.min(s, ps);
        e = Math.max(e, pe);
        b = Math.max(b, pb);
      }
    }
    if (!placed) kept.push(s, e, b);
    this.pending = kept;
    this.settle(nowMs - this.reorderMs);
  }

  /** Ends the account at the end of the run: every period settles, the last pays its full tail. */
  finish(): RadioEnergy {
    this.settle(Infinity);
    if (this.settledEnd > -Infinity) {
      this.e.tailMj += (this.model.tailMw * this.model.tailMs) / 1000;
      this.settledEnd = -Infinity;
    }
    this.e.energyMj = this.e.transferMj + this.e.tailMj + this.e.promotionMj;
    return { ...this.e };
  }

  /** Settles the pending periods that end before `upTo`. */
  private settle(upTo: number): void {
    const m = this.model;
    const P = this.pending;
    let i = 0;
    for (; i < P.length && P[i + 1] < upTo; i += 3) {
      const start = P[i], end = P[i + 1], base = P[i + 2];
      const gap = start - this.settledEnd;
      if (gap > m.tailMs) {
        if (this.settledEnd > -Infinity) this.e.tailMj += (m.tailMw * m.tailMs) / 1000;
        if (m.promotionMs > 0) {
          this.e.promotions++;
          this.e.promotionMj += (m.promotionMw * m.promotionMs) / 1000;
        }
      } else {
        this.e.tailMj += (m.tailMw * Math.max(0, gap)) / 1000;
      }
      this.e.activeMs += end - start;
      this.e.transferMj += (base * (end - start)) / 1000;
      this.settledEnd = end;
    }
    if (i > 0) this.pending = P.slice(i);
  }
}
