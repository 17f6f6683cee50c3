import type { Rng } from '../engine/rng';

export type JitterDistribution = 'uniform' | 'normal' | 'pareto';

/** Shape of the Pareto law behind `pareto` jitter; its mean is shape/(shape−1) = 1.5. */
const PARETO_SHAPE = 3;

/**
 * One-way delay of each packet: a fixed propagation delay plus jitter, never below zero.
 * uniform (netem's default): ±jitterMs; normal: standard deviation jitterMs; pareto: heavy
 * right tail, jitterMs·(X − 1.5) with X Pareto(shape 3, scale 1), i.e. mean zero like netem's
 * table-driven pareto.
 */
export class DelayModel {
  constructor(
    readonly delayMs: number,
    readonly jitterMs: number,
    readonly distribution: JitterDistribution,
    private readonly rng: Rng,
  ) {}

  /** Delay of the next packet, ms. */
  sample(): number {
    if (this.jitterMs === 0) return this.delayMs;
    let j: number;
    switch (this.distribution) {
      case 'uniform': j = (2 * this.rng.uniform() - 1) * this.jitterMs; break;
      case 'normal': j = this.rng.normal() * this.jitterMs; break;
      case 'pareto': j = (Math.pow(this.rng.uniformPositive(), -1 / PARETO_SHAPE) - PARETO_SHAPE / (PARETO_SHAPE - 1)) * this.jitterMs; break;
    }
    const d = this.delayMs + j;
    return d > 0 ? d : 0;
  }
}
