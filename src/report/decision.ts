/**
 * The decision: which pipeline is best for this scenario. Pipelines that meet every
 * constraint (top-1 at least a floor, deadline misses at most a share) are ranked by the
 * objective (mean latency, p95 latency or energy per request); the first is the best. Rows
 * that miss a constraint are ranked after them and say which constraint they miss. The
 * Pareto front is over latency (the objective's, mean or p95), energy and top-1.
 */
import type { SummaryRow } from './summary';

/** What the decision optimises. */
export type Objective = 'latency' | 'p95' | 'energy';

/** Objective → summary column. */
export const OBJECTIVE_COLUMNS: Record<Objective, 'e2e_mean_ms' | 'e2e_p95_ms' | 'energy_mj'> = {
  latency: 'e2e_mean_ms',
  p95: 'e2e_p95_ms',
  energy: 'energy_mj',
};

/** Constraints and objective (see the scenario's `decision:` and simulate's flags). */
export interface DecisionOptions {
  objective: Objective;
  /** Absolute top-1 floor (0..1). */
  minAccuracy?: number;
  /** Largest top-1 drop against the reference pipeline, in points. */
  maxAccuracyDrop?: number;
  /** Name of the reference (unsplit) pipeline the drop is measured from. */
  reference?: string;
  /** Largest share of requests that may miss the deadline (drops count as misses). */
  maxMissRatio: number;
}

/** The outcome: ranked rows (decision columns filled), the best row and the floor used. */
export interface Decision {
  rows: SummaryRow[];
  best?: SummaryRow;
  /** The top-1 floor applied, if any, and how it was set. */
  accuracyFloor?: number;
  floorReason?: string;
  objectiveColumn: string;
  maxMissRatio: number;
}

const num = (v: string | number | undefined): number => (typeof v === 'number' ? v : NaN);
const pct = (v: number): string => `${(100 * v).toFixed(2)}%`;

/** Applies the constraints, ranks by the objective, marks best and Pareto rows. */
export function decide(rows: SummaryRow[], o: DecisionOptions): Decision {
  const col = OBJECTIVE_COLUMNS[o.objective];
  const latencyCol = o.objective === 'p95' ? 'e2e_p95_ms' : 'e2e_mean_ms';
  const ref = o.reference ? rows.find((r) => r.pipeline === o.reference) : undefined;
  let floor: number | undefined;
  let floorReason: string | undefined;
  const refAcc = ref ? num(ref.accuracy) : NaN;
  const drop = o.maxAccuracyDrop ?? (o.minAccuracy === undefined && Number.isFinite(refAcc) ? 1.5 : undefined);
  if (drop !== undefined && Number.isFinite(refAcc)) {
    floor = refAcc - drop / 100;
    floorReason = `${ref!.pipeline} ${pct(refAcc)} - ${drop} points`;
  }
  if (o.minAccuracy !== undefined && (floor === undefined || o.minAccuracy > floor)) {
    floor = o.minAccuracy;
    floorReason = 'minimum top-1';
  }
  const judged = rows.map((r) => {
    const why: string[] = [];
    const v = num(r[col]);
    if (!(num(r.completed) > 0)) why.push('no request completed');
    else if (!Number.isFinite(v)) why.push(`no ${o.objective} figure`);
    if (floor !== undefined) {
      const a = num(r.accuracy);
      if (!Number.isFinite(a)) why.push('top-1 unknown');
      else if (a < floor - 1e-12) why.push(`top-1 ${pct(a)} < ${pct(floor)}`);
    }
    const miss = num(r.deadline_miss_ratio);
    if (Number.isFinite(miss) && miss > o.maxMissRatio + 1e-12) why.push(`misses the deadline ${pct(miss)} > ${pct(o.maxMissRatio)}`);
    return { r, v, why };
  });
  const order = (a: { r: SummaryRow; v: number }, b: { r: SummaryRow; v: number }) => {
    const av = Number.isFinite(a.v) ? a.v : Infinity;
    const bv = Number.isFinite(b.v) ? b.v : Infinity;
    return av - bv || String(a.r.pipeline).localeCompare(String(b.r.pipeline));
  };
  const ranked = [...judged.filter((j) => j.why.length === 0).sort(order), ...judged.filter((j) => j.why.length > 0).sort(order)];
  // Pareto: no other row at most as slow, at most as costly and at least as accurate, one strictly.
  const cand = judged.filter((j) => [num(j.r[latencyCol]), num(j.r.energy_mj), num(j.r.accuracy)].every(Number.isFinite));
  const dominated = (x: SummaryRow) => cand.some(({ r: y }) => {
    const [xl, xe, xa, yl, ye, ya] = [num(x[latencyCol]), num(x.energy_mj), num(x.accuracy), num(y[latencyCol]), num(y.energy_mj), num(y.accuracy)];
    return y !== x && yl <= xl && ye <= xe && ya >= xa && (yl < xl || ye < xe || ya > xa);
  });
  const out = ranked.map((j, i) => ({
    ...j.r,
    rank: i + 1,
    best: i === 0 && j.why.length === 0 ? 1 : 0,
    feasible: j.why.length === 0 ? 1 : 0,
    violates: j.why.join('; '),
    pareto: cand.some((c) => c.r === j.r) ? (dominated(j.r) ? 0 : 1) : '',
  })) as SummaryRow[];
  return { rows: out, best: out[0]?.best === 1 ? out[0] : undefined, accuracyFloor: floor, floorReason, objectiveColumn: col, maxMissRatio: o.maxMissRatio };
}
