/**
 * Codec CPU-time models: what encoding and decoding one sample costs, as data. Each cost
 * class (registry.ts costClass: 'jpeg', 'quant/rans', 'factorized', ...) has a linear model
 * of one sample's single-thread CPU time on the calibration host,
 *
 *   t = fixedUs + perElementNs · elements + perByteNs · payloadBytes
 *
 * (elements: pixels or tensor values coded; payloadBytes: the sample's measured bitstream),
 * fitted by `splitsim calibrate --codecs` and stored in profiles/codecs/host.yaml together
 * with the host's single-thread sysbench rate. A device or server runs the same code slower
 * or faster by the ratio of its profile's rate to the host's (profile.ts `cpu`).
 *
 * Nothing here reads a clock: simulated codec times depend on stored data and measured bytes
 * only, so the same inputs give the same results on any run and any cache.
 */
import * as path from 'path';
import { z } from 'zod';
import { loadYaml } from '../config/load';
import { UserError } from '../util/errors';
import { PACKAGE_ROOT } from '../util/version';

/** Default codec cost file. */
export const CODEC_COSTS_FILE = path.join(PACKAGE_ROOT, 'profiles', 'codecs', 'host.yaml');

const nonNeg = (what: string) => z.number({ required_error: `missing (${what})` }).finite().nonnegative({ message: `must be a non-negative number (${what})` });

/** One direction (encode or decode) of one cost class. */
export const linearCostSchema = z.object({
  fixedUs: nonNeg('per-sample fixed cost, microseconds'),
  perElementNs: nonNeg('cost per pixel or tensor value coded, nanoseconds'),
  perByteNs: nonNeg('cost per byte of the coded payload, nanoseconds'),
  points: z.number().int().positive().describe('calibration measurements fitted'),
  medianRelError: nonNeg('median |fit - measured| / measured over the points'),
}).strict();
export type LinearCost = z.infer<typeof linearCostSchema>;

/** The file format of profiles/codecs/*.yaml. */
export const codecCostsSchema = z.object({
  host: z.object({
    description: z.string(),
    sysbenchEventsPerS: z.number().positive().describe('single-thread sysbench cpu rate of the calibration host (events/s)'),
  }).strict(),
  clock: z.string().describe('what was timed'),
  splitsimVersion: z.string(),
  classes: z.record(z.object({ encode: linearCostSchema, decode: linearCostSchema }).strict()),
}).strict();
export type CodecCosts = z.infer<typeof codecCostsSchema> & { file: string };

const loaded = new Map<string, CodecCosts>();

/** Loads (once) a codec cost file; a bad file is a UserError naming it and the field. */
export function loadCodecCosts(file: string = CODEC_COSTS_FILE): CodecCosts {
  const abs = path.resolve(file);
  let c = loaded.get(abs);
  if (!c) loaded.set(abs, (c = { ...loadYaml(codecCostsSchema, abs, 'codec cost file'), file: abs }));
  return c;
}

/** Host CPU time (ms) of one sample under a linear model. */
export function predictCostMs(m: LinearCost, elements: number, payloadBytes: number): number {
  return (m.fixedUs + (m.perElementNs * elements + m.perByteNs * payloadBytes) / 1000) / 1000;
}

/** The encode/decode models of a cost class; a class the file lacks is a UserError. */
export function classCost(costs: CodecCosts, costClass: string): { encode: LinearCost; decode: LinearCost } {
  const c = costs.classes[costClass];
  if (!c) {
    throw new UserError(
      `${costs.file}: field 'classes.${costClass}': missing (no calibrated CPU cost for this codec; run 'splitsim calibrate --codecs'; has: ${Object.keys(costs.classes).join(', ')})`,
    );
  }
  return c;
}

/**
 * Weighted least squares with non-negative coefficients on up to three regressors, by trying
 * every subset of them and keeping the best non-negative solution (3 unknowns: 7 subsets).
 * Weights 1/y² fit relative error, so small and large samples count alike.
 */
export function fitNonNegative(rows: number[][], y: number[]): number[] {
  const k = rows[0]?.length ?? 0;
  let best: { coef: number[]; sse: number } | undefined;
  for (let mask = 1; mask < 1 << k; mask++) {
    const cols = Array.from({ length: k }, (_, j) => j).filter((j) => mask & (1 << j));
    const m = cols.length;
    const A = Array.from({ length: m }, () => new Array<number>(m).fill(0));
    const b = new Array<number>(m).fill(0);
    rows.forEach((r, i) => {
      const w = 1 / Math.max(y[i] * y[i], 1e-18);
      for (let p = 0; p < m; p++) {
        b[p] += w * r[cols[p]] * y[i];
        for (let q = 0; q < m; q++) A[p][q] += w * r[cols[p]] * r[cols[q]];
      }
    });
    const sol = solve(A, b);
    if (!sol || sol.some((v) => !(v >= 0))) continue;
    const coef = new Array<number>(k).fill(0);
    cols.forEach((c, p) => (coef[c] = sol[p]));
    let sse = 0;
    rows.forEach((r, i) => {
      const f = r.reduce((s, v, j) => s + v * coef[j], 0);
      sse += ((f - y[i]) / Math.max(y[i], 1e-9)) ** 2;
    });
    if (!best || sse < best.sse - 1e-15) best = { coef, sse };
  }
  return best?.coef ?? new Array<number>(k).fill(0);
}

/** Gaussian elimination with partial pivoting; undefined when singular. */
function solve(A: number[][], b: number[]): number[] | undefined {
  const n = b.length;
  const M = A.map((row, i) => [...row, b[i]]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r][c]) > Math.abs(M[p][c])) p = r;
    if (Math.abs(M[p][c]) < 1e-300) return undefined;
    [M[c], M[p]] = [M[p], M[c]];
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = M[r][c] / M[c][c];
      for (let q = c; q <= n; q++) M[r][q] -= f * M[c][q];
    }
  }
  const x = M.map((row, i) => row[n] / row[i]);
  // A rank-deficient system (a regressor constant over the points) leaves a huge, unstable
  // coefficient pair; refuse it so a smaller subset is chosen.
  return x.every((v) => Number.isFinite(v)) ? x : undefined;
}
