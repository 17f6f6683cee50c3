/**
 * Reading result CSVs back (summary.csv, sweep.csv) into rows, so that the report is built
 * from the files a run wrote (and `splitsim report DIR` rebuilds it from them alone).
 */
import { parseCsv } from '../cli/compare';
import type { SummaryRow } from './summary';

/** Columns whose cells are names, never numbers (a hash can look like one). */
const TEXT_COLUMNS = new Set([
  'scenario', 'pipeline', 'violates', 'source', 'kind', 'model', 'split', 'codec', 'params', 'description', 'reference',
  'device_profile', 'edge_profile', 'radio', 'backend', 'model_hash', 'splitsim_version', 'devices.profile', 'edge.profile',
]);
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/**
 * Rows of a CSV written by toCsv: numbers become numbers, empty cells of number columns NaN
 * (as before writing), names stay text. A malformed file is an Error naming it.
 */
export function readRows(text: string, file: string): SummaryRow[] {
  let cells: string[][];
  try {
    cells = parseCsv(text);
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
  const [head, ...lines] = cells;
  if (!head) return [];
  return lines.map((l, i) => {
    if (l.length !== head.length) throw new Error(`${file}:${i + 2}: ${l.length} cells, the header has ${head.length}`);
    const row: Record<string, string | number> = {};
    head.forEach((h, j) => {
      const v = l[j];
      row[h] = TEXT_COLUMNS.has(h) ? v : v === '' ? (h === 'violates' ? '' : NaN) : NUMBER.test(v) ? Number(v) : v;
    });
    return row as SummaryRow;
  });
}
