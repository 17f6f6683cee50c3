/** Arithmetic mean; NaN for no values. */
export function mean(xs: ArrayLike<number>): number {
  const n = xs.length;
  if (n === 0) return NaN;
  let s = 0;
  for (let i = 0; i < n; i++) s += xs[i];
  return s / n;
}

/** Sample standard deviation (n − 1 in the denominator); NaN for fewer than two values. */
export function sampleStd(xs: ArrayLike<number>): number {
  const n = xs.length;
  if (n < 2) return NaN;
  const m = mean(xs);
  let s = 0;
  for (let i = 0; i < n; i++) {
    const d = xs[i] - m;
    s += d * d;
  }
  return Math.sqrt(s / (n - 1));
}

/**
 * Quantile `p` of values sorted ascending, interpolating linearly between order statistics
 * (the "type 7" rule of R and NumPy's default); NaN for no values.
 */
export function quantileSorted(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const h = (n - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, n - 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

/**
 * P(|T| ≤ t) for Student's t with integer `dof` degrees of freedom, by the finite series
 * that exist for integer dof (Abramowitz & Stegun 26.7.3–26.7.4).
 */
export function studentTCentralProb(t: number, dof: number): number {
  const theta = Math.atan(Math.abs(t) / Math.sqrt(dof));
  const c2 = Math.cos(theta) ** 2;
  const s = Math.sin(theta);
  if (dof % 2 === 1) {
    if (dof === 1) return (2 * theta) / Math.PI;
    let term = 1, sum = 1;
    for (let k = 2; k <= dof - 3; k += 2) {
      term *= (c2 * k) / (k + 1);
      sum += term;
    }
    return (2 / Math.PI) * (theta + s * Math.cos(theta) * sum);
  }
  let term = 1, sum = 1;
  for (let k = 1; k <= dof - 3; k += 2) {
    term *= (c2 * k) / (k + 1);
    sum += term;
  }
  return s * sum;
}

/** Quantile p (0.5 < p < 1) of Student's t with integer `dof`, by bisection on its CDF. */
export function studentTQuantile(p: number, dof: number): number {
  if (!(p > 0.5 && p < 1)) throw new Error(`studentTQuantile: p must be in (0.5, 1), got ${p}`);
  if (!(Number.isInteger(dof) && dof >= 1)) throw new Error(`studentTQuantile: dof must be a positive integer, got ${dof}`);
  const central = 2 * p - 1;
  let lo = 0, hi = 1;
  while (studentTCentralProb(hi, dof) < central) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-12 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (studentTCentralProb(mid, dof) < central) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** Result of the batch-means method. */
export interface BatchMeans {
  /** Half-width of the confidence interval of the mean (NaN with fewer than two batches). */
  halfWidth: number;
  batches: number;
  batchSize: number;
}

/**
 * Confidence-interval half-width of the mean of a correlated series (e.g. successive
 * waiting times) by non-overlapping batch means: the series is cut into `batches` equal
 * batches whose means are nearly independent, and a t interval is built on them. When the
 * length is not a multiple of the batch count, the oldest values are left out of the CI.
 */
export function batchMeansHalfWidth(xs: ArrayLike<number>, batches = 20, level = 0.95): BatchMeans {
  const n = xs.length;
  const b = Math.min(batches, n);
  if (b < 2) return { halfWidth: NaN, batches: b, batchSize: n };
  const m = Math.floor(n / b);
  const skip = n - b * m;
  const means = new Float64Array(b);
  for (let j = 0; j < b; j++) {
    let s = 0;
    const start = skip + j * m;
    for (let i = start; i < start + m; i++) s += xs[i];
    means[j] = s / m;
  }
  const t = studentTQuantile(1 - (1 - level) / 2, b - 1);
  return { halfWidth: (t * sampleStd(means)) / Math.sqrt(b), batches: b, batchSize: m };
}

/**
 * Half-width of the 95% Wilson score interval of a proportion: unlike the normal
 * approximation it stays sensible near 0% and 100% accuracy and for small samples.
 */
export function wilsonHalfWidth95(successes: number, n: number): number {
  if (n === 0) return NaN;
  const z = 1.959963984540054;
  const p = successes / n;
  return (z / (1 + (z * z) / n)) * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n));
}

/** log(n!) by summation below 256 and Stirling's series above (error < 1e-12 relative). */
function logFactorial(n: number): number {
  if (n < 256) {
    let s = 0;
    for (let i = 2; i <= n; i++) s += Math.log(i);
    return s;
  }
  return n * Math.log(n) - n + 0.5 * Math.log(2 * Math.PI * n) + 1 / (12 * n) - 1 / (360 * n ** 3);
}

/** A paired comparison of two classifiers on the same samples. */
export interface PairedDifference {
  /** Accuracy of the first minus the second (fraction, not points). */
  diff: number;
  /** 95% CI half-width of diff (Wald, paired: uses the discordant pairs). */
  ci95: number;
  /** Exact two-sided McNemar p-value (binomial test on the discordant pairs). */
  mcnemarP: number;
  /** Samples the first gets right and the second wrong, and the reverse. */
  onlyFirst: number;
  onlySecond: number;
  n: number;
}

/**
 * Paired difference of two per-sample correctness vectors over the same samples: the mean
 * difference with its 95% interval from the discordant counts, se = sqrt(b + c − (b − c)²/n)/n,
 * and McNemar's exact test.
 */
export function pairedDifference(first: ArrayLike<number>, second: ArrayLike<number>): PairedDifference {
  const n = first.length;
  if (second.length !== n) throw new Error(`paired difference over ${n} and ${second.length} samples`);
  let b = 0, c = 0;
  for (let i = 0; i < n; i++) {
    if (first[i] && !second[i]) b++;
    else if (!first[i] && second[i]) c++;
  }
  const diff = n ? (b - c) / n : NaN;
  const se = n ? Math.sqrt(Math.max(0, b + c - ((b - c) * (b - c)) / n)) / n : NaN;
  const m = b + c;
  let p = 1;
  if (m > 0) {
    const k = Math.min(b, c);
    const lf = logFactorial(m);
    let tail = 0;
    for (let i = 0; i <= k; i++) tail += Math.exp(lf - logFactorial(i) - logFactorial(m - i) - m * Math.LN2);
    p = Math.min(1, 2 * tail);
  }
  return { diff, ci95: 1.959963984540054 * se, mcnemarP: p, onlyFirst: b, onlySecond: c, n };
}
