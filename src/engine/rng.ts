import { xoroshiro128plus } from 'pure-rand';

type Gen = ReturnType<typeof xoroshiro128plus>;

/** 32-bit FNV-1a hash of a string, used to derive per-component seeds from names. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** splitmix32 finaliser: spreads the bits of a 32-bit integer. */
function mix32(x: number): number {
  x = (x + 0x9e3779b9) | 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/**
 * A seeded random stream (xoroshiro128+ from pure-rand). Every component that draws random
 * numbers owns one, derived from the scenario seed and the component's name, so adding a
 * component never shifts the draws of another.
 */
export class Rng {
  private readonly gen: Gen;
  /** The derived 32-bit seed of this stream (for the record). */
  readonly seed32: number;

  constructor(seed: number, stream = '') {
    this.seed32 = mix32((mix32(seed >>> 0) ^ hashString(stream)) >>> 0);
    this.gen = xoroshiro128plus(this.seed32 | 0);
  }

  /** An independent child stream named `name`. */
  fork(name: string): Rng {
    return new Rng(this.seed32, name);
  }

  /** Uniform 32-bit unsigned integer. */
  uint32(): number {
    return this.gen.unsafeNext() >>> 0;
  }

  /** Uniform double in [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.gen.unsafeNext() >>> 5; // 27 bits
    const lo = this.gen.unsafeNext() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform double in (0, 1]: safe for log(). */
  uniformPositive(): number {
    return 1 - this.uniform();
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** Exponential with the given mean. */
  exponential(mean: number): number {
    return -mean * Math.log(this.uniformPositive());
  }

  private spare = NaN;
  /** Standard normal (Marsaglia polar method; caches the second value). */
  normal(): number {
    if (!Number.isNaN(this.spare)) {
      const s = this.spare;
      this.spare = NaN;
      return s;
    }
    let u: number, v: number, s: number;
    do {
      u = 2 * this.uniform() - 1;
      v = 2 * this.uniform() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const f = Math.sqrt((-2 * Math.log(s)) / s);
    this.spare = v * f;
    return u * f;
  }
}
