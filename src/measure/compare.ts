/**
 * Rate-accuracy comparison of measured pipelines: the Pareto front over (mean bytes,
 * top-1), and the checks the SC2 paper's claims translate to: how much input compression
 * must send to match a bottleneck student, and whether naive splitting ever beats it.
 */
import type { MeasurementRow } from './aggregate';
import { INPUT_SPLIT } from '../pipelines/ref';

/** The fields of a measurement row the comparison uses, with the device's side (measure/device.ts) when known. */
export type CompareInput = Pick<MeasurementRow,
  'model' | 'split' | 'codec' | 'params' | 'kind' | 'samples' | 'accuracy' | 'accuracy_ci95' |
  'bytes_mean' | 'bytes_p95' | 'encode_ms_host' | 'decode_ms_host'> & { device_bits?: number; device_macs?: number };

/**
 * A compared row: rank by mean bytes, membership of the rate-accuracy Pareto front and of the
 * three-way front (bytes, device size, top-1).
 */
export type CompareRow = CompareInput & { rank: number; pareto: number; pareto3: number };

/** Columns of compare.csv. */
export const COMPARE_COLUMNS = [
  'rank', 'pareto', 'pareto3', 'kind', 'model', 'split', 'codec', 'params', 'samples', 'accuracy', 'accuracy_ci95',
  'bytes_mean', 'bytes_p95', 'device_bits', 'device_macs', 'encode_ms_host', 'decode_ms_host',
] as const;

/**
 * The three-way Pareto front of SC2 (payload bytes, device size, top-1): 1 for a row that no
 * other row matches or beats on all three (fewer or as many bytes, as small or smaller on the
 * device, as accurate or more) while beating it on one; 0 for the others and for rows whose
 * device size is unknown.
 */
export function pareto3Flags(rows: CompareInput[]): number[] {
  const known = (r: CompareInput) => Number.isFinite(r.device_bits);
  return rows.map((r) => {
    if (!known(r)) return 0;
    const dominated = rows.some((o) => o !== r && known(o) && o.bytes_mean <= r.bytes_mean && o.device_bits! <= r.device_bits! && o.accuracy >= r.accuracy &&
      (o.bytes_mean < r.bytes_mean || o.device_bits! < r.device_bits! || o.accuracy > r.accuracy));
    return dominated ? 0 : 1;
  });
}

/** One method of the SC2 benchmark as measured: its rate points and what it achieves. */
export interface MethodSummary {
  method: string;
  /** What runs on the device and on the server. */
  where: string;
  points: number;
  bytesMin: number;
  bytesMax: number;
  /** The most accurate point at <= 64 bytes, if any. */
  bestAt64?: CompareInput;
  /** The fewest bytes reaching the teacher's top-1 minus the tolerance, if any. */
  atTolerance?: CompareInput;
  deviceBitsMin: number;
  deviceBitsMax: number;
  deviceMacsMin: number;
  deviceMacsMax: number;
}

const METHODS: Array<{ test: (r: CompareInput) => boolean; method: string; where: string }> = [
  { test: (r) => r.kind === 'input' && r.codec === 'jpeg', method: 'JPEG on the input', where: 'device: JPEG encoder; server: decoder + whole teacher' },
  { test: (r) => r.kind === 'input' && r.codec === 'webp', method: 'WebP on the input', where: 'device: WebP encoder; server: decoder + whole teacher' },
  { test: (r) => r.kind === 'input' && r.codec === 'avif', method: 'AVIF on the input', where: 'device: AVIF encoder; server: decoder + whole teacher' },
  { test: (r) => r.kind === 'input', method: 'lossless input (raw, PNG, WebP lossless)', where: 'device: encoder; server: whole teacher' },
  { test: (r) => r.kind === 'neural-input' && r.codec === 'factorized', method: 'neural input codec, factorized prior (Ballé 2017)', where: 'device: analysis transform + rANS; server: synthesis + whole teacher' },
  { test: (r) => r.kind === 'neural-input', method: 'neural input codec, scale hyperprior (Ballé 2018)', where: 'device: analysis, h_a, h_s + rANS; server: h_s, synthesis + whole teacher' },
  { test: (r) => r.kind === 'naive', method: 'naive split (quantiser + lossless stage)', where: 'device: teacher up to the split; server: the rest' },
  { test: (r) => r.kind === 'codec-feature' && r.codec === 'tiled-jpeg', method: 'codec feature compression, JPEG', where: 'device: teacher up to the split + JPEG of the tiled tensor; server: the rest' },
  { test: (r) => r.kind === 'codec-feature', method: 'codec feature compression, WebP', where: 'device: teacher up to the split + WebP of the tiled tensor; server: the rest' },
  { test: (r) => r.kind === 'channel-reduction', method: 'channel reduction + 8-bit quantiser', where: 'device: encoder; server: decoder + teacher stage3, classifier' },
  { test: (r) => r.kind === 'end-to-end', method: 'End-to-End, factorized prior (Singh 2020)', where: 'device: encoder + rANS; server: decoder + tail' },
  { test: (r) => r.kind === 'bottleneck', method: 'Entropic Student, factorized prior (SC2)', where: 'device: encoder + rANS; server: decoder + teacher tail' },
  { test: (r) => r.kind === 'hyperprior-student', method: 'Entropic Student, mean-scale hyperprior', where: 'device: encoder, h_a, h_s + rANS; server: h_s, decoder + teacher tail' },
];

/** The method a compared row belongs to (first match of METHODS), or its kind. */
export function methodOf(r: CompareInput): string {
  return METHODS.find((m) => m.test(r))?.method ?? r.kind;
}

/**
 * One summary per method, in METHODS order: rate points, bytes range, best top-1 within 64
 * bytes, fewest bytes within `tolerancePoints` of the teacher, device size and MACs range.
 */
export function methodSummaries(rows: CompareInput[], teacherAccuracy: number | undefined, tolerancePoints = 1.5): MethodSummary[] {
  const out: MethodSummary[] = [];
  const groups = new Map<string, CompareInput[]>();
  for (const r of rows) {
    const m = methodOf(r);
    if (!groups.has(m)) groups.set(m, []);
    groups.get(m)!.push(r);
  }
  const order = [...METHODS.map((m) => m.method), ...[...groups.keys()].filter((k) => !METHODS.some((m) => m.method === k))];
  for (const method of order) {
    const rs = groups.get(method);
    if (!rs) continue;
    const bytes = rs.map((r) => r.bytes_mean);
    const within = rs.filter((r) => r.bytes_mean <= 64).sort((a, b) => b.accuracy - a.accuracy || a.bytes_mean - b.bytes_mean);
    const level = teacherAccuracy === undefined ? undefined : teacherAccuracy - tolerancePoints / 100;
    const ok = level === undefined ? [] : rs.filter((r) => r.accuracy >= level - 1e-12).sort((a, b) => a.bytes_mean - b.bytes_mean);
    const bits = rs.map((r) => r.device_bits ?? NaN);
    const macs = rs.map((r) => r.device_macs ?? NaN);
    out.push({
      method, where: METHODS.find((m) => m.method === method)?.where ?? '', points: rs.length,
      bytesMin: Math.min(...bytes), bytesMax: Math.max(...bytes), bestAt64: within[0], atTolerance: ok[0],
      deviceBitsMin: Math.min(...bits), deviceBitsMax: Math.max(...bits), deviceMacsMin: Math.min(...macs), deviceMacsMax: Math.max(...macs),
    });
  }
  return out;
}

/**
 * Marks the Pareto front: a row is on it when no other row has at most its mean bytes and
 * at least its accuracy, one of them strictly. Rows come back ranked by mean bytes
 * (ties: higher accuracy first, then name).
 */
export function paretoRank<T extends CompareInput>(rows: T[]): Array<T & { rank: number; pareto: number; pareto3: number }> {
  const name = (r: CompareInput): string => `${r.model}/${r.split}/${r.codec}[${r.params}]`;
  const sorted = [...rows].sort(
    (a, b) => a.bytes_mean - b.bytes_mean || b.accuracy - a.accuracy || name(a).localeCompare(name(b)),
  );
  const three = pareto3Flags(sorted);
  let bestAcc = -Infinity;
  return sorted.map((r, i) => {
    // Sorted by bytes (then accuracy), a row is undominated iff it beats every cheaper row.
    const pareto = r.accuracy > bestAcc ? 1 : 0;
    if (r.accuracy > bestAcc) bestAcc = r.accuracy;
    return { ...r, rank: i + 1, pareto, pareto3: three[i] };
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

/** Input compression, learned (a neural input codec) or not: the server runs the whole teacher. */
function isInput(r: CompareInput): boolean {
  return r.kind === 'input' || r.kind === 'neural-input' || r.split === INPUT_SPLIT;
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
