import type { Rng } from '../engine/rng';
import type { LossSpec } from './spec';

/** Decides, packet by packet, whether the channel loses a packet. */
export interface LossModel {
  /**
   * Draws the fate of the next packet: true = lost. `isData` is false for packets that carry
   * no payload (TCP SYNs and ACKs); only the list model tells them apart.
   */
  lost(isData?: boolean): boolean;
}

/** Never loses. */
export class NoLoss implements LossModel {
  lost(): boolean { return false; }
}

/** Independent loss with probability p. */
export class BernoulliLoss implements LossModel {
  constructor(private readonly p: number, private readonly rng: Rng) {}
  lost(): boolean { return this.p > 0 && this.rng.uniform() < this.p; }
}

/**
 * Gilbert–Elliott loss with netem's parameters and order of draws: a packet is lost with the
 * loss probability of the state the chain is in when the packet comes (1−k good, 1−h bad),
 * and the chain moves (good→bad with p, bad→good with r) once per packet. The first state is
 * drawn from the stationary distribution, so counts are unbiased from the first packet.
 */
export class GilbertElliottLoss implements LossModel {
  private bad: boolean;
  constructor(
    private readonly p: number,
    private readonly r: number,
    private readonly badLoss: number,
    private readonly goodLoss: number,
    private readonly rng: Rng,
  ) {
    const piBad = p + r > 0 ? p / (p + r) : 0;
    this.bad = rng.uniform() < piBad;
  }
  /** Whether the chain is in the bad state now. */
  get inBadState(): boolean { return this.bad; }
  lost(): boolean {
    const rng = this.rng;
    if (this.bad) {
      if (rng.uniform() < this.r) this.bad = false;
      return rng.uniform() < this.badLoss;
    }
    if (rng.uniform() < this.p) this.bad = true;
    return rng.uniform() < this.goodLoss;
  }
}

/**
 * Drops exactly the listed data packets: the k-th data packet to leave the bottleneck
 * (1-based, retransmissions counted, packets without payload not), so that two simulators can
 * be compared with the same losses.
 */
export class ListLoss implements LossModel {
  private readonly drop: Set<number>;
  private count = 0;
  constructor(drop: readonly number[]) { this.drop = new Set(drop); }
  /** Data packets seen so far. */
  get dataPackets(): number { return this.count; }
  lost(isData = true): boolean {
    if (!isData) return false;
    return this.drop.has(++this.count);
  }
}

/** Long-run loss probability of a loss spec (NaN for a list, which names packets, not a rate). */
export function meanLossProbability(spec: LossSpec): number {
  switch (spec.model) {
    case 'none': return 0;
    case 'bernoulli': return spec.p;
    case 'gilbert-elliott': {
      const piBad = spec.p + spec.r > 0 ? spec.p / (spec.p + spec.r) : 0;
      return piBad * spec.badLoss + (1 - piBad) * spec.goodLoss;
    }
    case 'list': return NaN;
  }
}

/** Builds the loss model of a spec, drawing from `rng`. */
export function createLossModel(spec: LossSpec, rng: Rng): LossModel {
  switch (spec.model) {
    case 'none': return new NoLoss();
    case 'bernoulli': return new BernoulliLoss(spec.p, rng);
    case 'gilbert-elliott': return new GilbertElliottLoss(spec.p, spec.r, spec.badLoss, spec.goodLoss, rng);
    case 'list': return new ListLoss(spec.drop);
  }
}
