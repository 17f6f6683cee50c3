import type { Decision } from './decision';
import type { SummaryRow } from './summary';

/**
 * Renders rows as a fixed-width text table: the first column (and those in `left`)
 * left-aligned, the rest right-aligned.
 */
export function formatTable(headers: string[], rows: string[][], left: readonly number[] = []): string {
  const widths = headers.map((h, j) => Math.max(h.length, ...rows.map((r) => r[j].length)));
  const line = (cells: string[]) => cells.map((c, j) => (j === 0 || left.includes(j) ? c.padEnd(widths[j]) : c.padStart(widths[j]))).join('  ').trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function fix(v: string | number | undefined, digits: number): string {
  return typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : '-';
}

const pctCell = (v: string | number | undefined, digits = 2): string =>
  typeof v === 'number' && Number.isFinite(v) ? `${(100 * v).toFixed(digits)}%` : '-';

/** Paired top-1 difference to the reference in points, with its CI: '-0.60 ±0.48'. */
function diffCell(r: SummaryRow): string {
  const d = r.accuracy_diff, c = r.accuracy_diff_ci95;
  if (typeof d !== 'number' || !Number.isFinite(d)) return '-';
  return `${d >= 0 ? '+' : ''}${(100 * d).toFixed(2)} ±${(100 * (c as number)).toFixed(2)}`;
}

/** Headers and cells of the ranked decision table (the console's and the HTML report's). */
export function rankedCells(rows: SummaryRow[]): { headers: string[]; cells: string[][]; left: number[] } {
  return {
    headers: ['#', 'pipeline', 'source', 'top-1', 'Δ ref pts ±95%', 'on-time', 'bytes', 'mean ms', 'p95 ms', 'miss', 'energy mJ', '(radio)', 'pareto', 'verdict'],
    cells: rows.map((r) => [
      String(r.rank), String(r.pipeline), String(r.source), pctCell(r.accuracy), diffCell(r), pctCell(r.accuracy_ontime),
      fix(r.bytes_mean, 0), fix(r.e2e_mean_ms, 2), fix(r.e2e_p95_ms, 2), pctCell(r.deadline_miss_ratio, 1),
      fix(r.energy_mj, 1), fix(r.energy_radio_mj, 1), r.pareto === 1 ? '*' : '', r.best === 1 ? 'BEST' : r.feasible === 1 ? 'ok' : String(r.violates),
    ]),
    left: [1, 2, 12, 13],
  };
}

/**
 * The console view of a scenario's results: the ranked decision table (every pipeline,
 * labelled measured or declared, with the constraint it misses), then per-stage means.
 */
export function summaryTables(rows: SummaryRow[], decision?: Decision): string {
  const t = rankedCells(rows);
  const ranked = formatTable(t.headers, t.cells, t.left);
  const stages = formatTable(
    ['pipeline (mean ms)', 'source', 'device queue', 'device', 'uplink', 'edge queue', 'edge', 'downlink', 'e2e', 'edge util', 'batch'],
    rows.map((r) => [
      String(r.pipeline), String(r.source), fix(r.device_queue_ms, 2), fix(r.device_ms, 2), fix(r.uplink_ms, 2), fix(r.edge_queue_ms, 2),
      fix(r.edge_ms, 2), fix(r.downlink_ms, 2), fix(r.e2e_mean_ms, 2), pctCell(r.edge_utilization, 1), fix(r.edge_batch_mean, 2),
    ]),
    [1],
  );
  const parts = [ranked];
  if (decision) parts.push(decisionLine(decision));
  parts.push(stages);
  return parts.join('\n\n');
}

/** One paragraph saying what was chosen and under which constraints. */
export function decisionLine(d: Decision): string {
  const what = d.objectiveColumn === 'energy_mj' ? 'energy per request' : d.objectiveColumn === 'e2e_p95_ms' ? 'p95 latency' : 'mean latency';
  const floor = d.accuracyFloor !== undefined ? `top-1 >= ${(100 * d.accuracyFloor).toFixed(2)}% (${d.floorReason})` : 'no top-1 floor';
  if (!d.best) return `no pipeline meets the constraints (${floor}); rows are ranked by ${what} and say what they miss`;
  const b = d.best;
  return `best: ${b.pipeline} (${b.source}) - ${what} ${d.objectiveColumn === 'energy_mj' ? `${fix(b.energy_mj, 1)} mJ` : `${fix(b[d.objectiveColumn as keyof SummaryRow], 2)} ms`}, ` +
    `top-1 ${pctCell(b.accuracy)}, ${fix(b.bytes_mean, 0)} B/request, ${fix(b.energy_mj, 1)} mJ/request; constraints: ${floor}` +
    (typeof b.deadline_ms === 'number' && Number.isFinite(b.deadline_ms) ? `, deadline ${b.deadline_ms} ms missed by at most ${(100 * d.maxMissRatio).toFixed(1)}% of requests` : '');
}
