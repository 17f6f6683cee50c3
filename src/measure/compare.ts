/**
 * Rate-accuracy comparison of measured pipelines: the Pareto front over (mean bytes,
 * top-1), and the checks the SC2 paper's claims translate to: how much input compression
 * must send to match a bottleneck student, and whether naive splitting ever beats it.
 */
import type { MeasurementRow } from './aggregate';
import { INPUT_SPLIT } from '../pipelines/ref';

/** The fields of a measurement row the comparison uses. */
export type CompareInput = Pick<MeasurementRow,
  'model' | 'split' | 'codec' | 'params' | 'kind' | 'samples' | 'accuracy' | 'accuracy_ci95' |
  'bytes_mean' | 'bytes_p95' | 'encode_ms_host' | 'decode_ms_host'>;

/** A compared row: rank by mean bytes and membership of the Pareto front. */
export type CompareRow = CompareInput & { rank: number; pareto: number };

/** Columns of compare.csv. */
export const COMPARE_COLUMNS = [
  'rank', 'pareto', 'kind', 'model', 'split', 'codec', 'params', 'samples', 'accuracy', 'accuracy_ci95',
  'bytes_mean', 'bytes_p95', 'encode_ms_host', 'decode_ms_host',
] as const;

/**
 * Marks the Pareto front: a row is on it when no other row has at most its mean bytes and
 * at least its accuracy, one of them strictly. Rows come back ranked by mean bytes
 * (ties: higher accuracy first, then name).
 */
export function paretoRank<T extends CompareInput>(rows: T[]): Array<T & { rank: number; pareto: number }> {
  const name = (r: CompareInput): string => `${r.model}/${r.split}/${r.codec}[${r.params}]`;
  const sorted = [...rows].sort(
    (a, b) => a.bytes_mean - b.bytes_mean || b.accuracy - a.accuracy || name(a).localeCompare(name(b)),
  );
  let bestAcc = -Infinity;
  return sorted.map((r, i) => {
    // Sorted by bytes (then accuracy), a row is undominated iff it beats every cheaper row.
    const pareto = r.accuracy > bestAcc ? 1 : 0;
    if (r.accuracy > bestAcc) bestAcc = r.accuracy;
    return { ...r, rank: i + 1, pareto };
  });
}

/** The findings printed by `splitsim compare`. */
export interface CompareFindings {
  teacherAccuracy?: number;
  /** The smallest student within 1.5 points of the teacher, and its accuracy A. */
  reference?: { row: CompareInput; accuracy: number; bytes: number };
  /** When no student is that close: the most accurate student, as a fallback reference. */
  closest?: { row: CompareInput; accuracy: number; bytes: number; inputAtLeast: Array<{ row: CompareInput; ratio: number }> };
  /** Input-codec rows with accuracy >= A, with their byte ratio to the reference student. */
  inputAtLeastA: Array<{ row: CompareInput; ratio: number }>;
  /** Smallest ratio over inputAtLeastA (the acceptance wants >= 3). */
  minInputRatio?: number;
  /** Naive-split rows that no input-codec row dominates (as accurate or more, for no more bytes). */
  naiveUndominated: CompareInput[];
  naiveCount: number;
  /**
   * Naive splits per split point (in measurement order): how many no input codec dominates,
   * and the fewest bytes reaching the teacher's top-1 minus the tolerance, beside the input
   * codecs' fewest at that level. Late split points run almost the whole network on the
   * device, so they are cheap to send but not what split computing is for.
   */
  bySplit: Array<{ split: string; total: number; undominated: number; cheapest?: CompareInput; inputCheapest?: CompareInput }>;
  /** Cheapest row of each kind reaching each accuracy level. */
  levels: Array<{ accuracy: number; cheapest: Record<string, CompareInput | undefined> }>;
}

function isInput(r: CompareInput): boolean {
  return r.kind === 'input' || r.split === INPUT_SPLIT;
}

/** Works out the findings from measurement rows (see CompareFindings). */
export function compareFindings(rows: CompareInput[], tolerancePoints = 1.5): CompareFindings {
  const raw = rows.find((r) => r.model === 'teacher' && isInput(r) && r.codec === 'raw');
  const teacherAccuracy = raw?.accuracy;
  const inputs = rows.filter(isInput);
  const naive = rows.filter((r) => r.kind === 'naive');
  const students = rows.filter((r) => r.kind === 'bottleneck');
  let reference: CompareFindings['reference'];
  if (teacherAccuracy !== undefined) {
    const close = students.filter((s) => s.accuracy >= teacherAccuracy - tolerancePoints / 100);
    close.sort((a, b) => a.bytes_mean - b.bytes_mean);
    if (close.length) reference = { row: close[0], accuracy: close[0].accuracy, bytes: close[0].bytes_mean };
  }
  const inputAtLeastA = reference
    ? inputs.filter((r) => r.accuracy >= reference!.accuracy).map((row) => ({ row, ratio: row.bytes_mean / reference!.bytes }))
    : [];
  inputAtLeastA.sort((a, b) => a.ratio - b.ratio);
  let closest: CompareFindings['closest'];
  if (!reference && students.length) {
    const best = [...students].sort((a, b) => b.accuracy - a.accuracy || a.bytes_mean - b.bytes_mean)[0];
    const inputAtLeast = inputs
      .filter((r) => r.accuracy >= best.accuracy)
      .map((row) => ({ row, ratio: row.bytes_mean / best.bytes_mean }))
      .sort((a, b) => a.ratio - b.ratio);
    closest = { row: best, accuracy: best.accuracy, bytes: best.bytes_mean, inputAtLeast };
  }
  const naiveUndominated = naive.filter(
    (n) => !inputs.some((i) => i.accuracy >= n.accuracy && i.bytes_mean <= n.bytes_mean),
  );
  const level = teacherAccuracy !== undefined ? teacherAccuracy - tolerancePoints / 100 : undefined;
  const cheapestAt = (rs: CompareInput[]): CompareInput | undefined =>
    level === undefined ? undefined : rs.filter((r) => r.accuracy >= level - 1e-12).sort((a, b) => a.bytes_mean - b.bytes_mean)[0];
  const inputCheapest = cheapestAt(inputs);
  const bySplit = [...new Set(naive.map((r) => r.split))].map((split) => {
    const here = naive.filter((r) => r.split === split);
    return {
      split,
      total: here.length,
      undominated: here.filter((r) => naiveUndominated.includes(r)).length,
      cheapest: cheapestAt(here),
      inputCheapest,
    };
  });
  const kinds = [...new Set(rows.map((r) => r.kind))];
  const levels: CompareFindings['levels'] = [];
  if (teacherAccuracy !== undefined) {
    for (const drop of [0, 0.5, 1, 1.5, 3, 5]) {
      const acc = teacherAccuracy - drop / 100;
      const cheapest: Record<string, CompareInput | undefined> = {};
      for (const k of kinds) {
        const ok = rows.filter((r) => r.kind === k && r.accuracy >= acc - 1e-12).sort((a, b) => a.bytes_mean - b.bytes_mean);
        cheapest[k] = ok[0];
      }
      levels.push({ accuracy: acc, cheapest });
    }
  }
  return {
    teacherAccuracy,
    reference,
    closest,
    inputAtLeastA,
    minInputRatio: inputAtLeastA.length ? inputAtLeastA[0].ratio : undefined,
    naiveUndominated,
    naiveCount: naive.length,
    bySplit,
    levels,
  };
}
