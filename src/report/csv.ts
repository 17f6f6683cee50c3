import { stringify } from 'csv-stringify/sync';
import type { PipelineRun } from '../sim/system';
import { STATUS_NAMES } from '../sim/requests';

/**
 * Formats a cell: numbers with at most 12 significant digits (so binary noise such as
 * 0.30000000000000004 never reaches a file), non-finite numbers as empty cells.
 */
export function formatCell(v: string | number | undefined): string {
  if (v === undefined) return '';
  if (typeof v === 'string') return v;
  if (!Number.isFinite(v)) return '';
  if (Number.isInteger(v)) return String(v);
  return String(Number(v.toPrecision(12)));
}

/** CSV text (header + rows) of records, with the given column order. */
export function toCsv(rows: Array<Record<string, string | number>>, columns: string[]): string {
  return stringify([columns, ...rows.map((r) => columns.map((c) => formatCell(r[c])))]);
}

/** Columns of requests.csv, one row per request and pipeline. */
export const REQUEST_COLUMNS = [
  'pipeline', 'request', 'device', 'measured', 'status', 'sample', 'correct', 'batch',
  'arrival_ms', 'device_start_ms', 'device_end_ms', 'edge_arrival_ms', 'edge_start_ms', 'edge_end_ms', 'end_ms',
  'e2e_ms', 'device_ms', 'edge_ms', 'payload_bytes', 'result_bytes',
] as const;

/** Every request's timeline of every run, as CSV text (NaN = stage not reached). */
export function requestsCsv(runs: PipelineRun[]): string {
  const parts: string[] = [stringify([REQUEST_COLUMNS as unknown as string[]])];
  const CHUNK = 10000;
  for (const run of runs) {
    const T = run.requests;
    const name = run.pipeline.name;
    for (let start = 0; start < T.count; start += CHUNK) {
      const rows: string[][] = [];
      for (let i = start; i < Math.min(T.count, start + CHUNK); i++) {
        const completed = STATUS_NAMES[T.status[i]] === 'completed';
        rows.push([
          name, String(i), String(T.device[i]), i >= run.firstMeasuredId ? '1' : '0', STATUS_NAMES[T.status[i]],
          T.sample[i] >= 0 ? String(T.sample[i]) : '', T.correct[i] <= 1 ? String(T.correct[i]) : '', T.batch[i] > 0 ? String(T.batch[i]) : '',
          formatCell(T.arrivalMs[i]), formatCell(T.deviceStartMs[i]), formatCell(T.deviceEndMs[i]),
          formatCell(T.edgeArrivalMs[i]), formatCell(T.edgeStartMs[i]), formatCell(T.edgeEndMs[i]), formatCell(T.endMs[i]),
          completed ? formatCell(T.endMs[i] - T.arrivalMs[i]) : '',
          formatCell(T.deviceMs[i]), formatCell(T.edgeMs[i]), formatCell(T.payloadBytes[i]), formatCell(T.resultBytes[i]),
        ]);
      }
      parts.push(stringify(rows));
    }
  }
  return parts.join('');
}
