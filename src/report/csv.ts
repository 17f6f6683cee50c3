import * as fs from 'fs';
import { stringify } from 'csv-stringify/sync';
import { STATUS_NAMES, type RetireSink } from '../sim/requests';

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

/**
 * Streams requests.csv to a file as requests are retired (arrival order, pipeline after
 * pipeline), a chunk of rows at a time, so a long run never holds its timelines in memory.
 */
export class RequestCsvWriter {
  private readonly fd: number;
  private rows: string[][] = [];

  constructor(file: string) {
    this.fd = fs.openSync(file, 'w');
    fs.writeSync(this.fd, stringify([REQUEST_COLUMNS as unknown as string[]]));
  }

  /** The sink of one pipeline's run. */
  sink(pipeline: string): RetireSink {
    return (T, i) => {
      const completed = STATUS_NAMES[T.status[i]] === 'completed';
      this.rows.push([
        pipeline, String(T.id[i]), String(T.device[i]), T.measured[i] ? '1' : '0', STATUS_NAMES[T.status[i]],
        T.sample[i] >= 0 ? String(T.sample[i]) : '', T.correct[i] <= 1 ? String(T.correct[i]) : '', T.batch[i] > 0 ? String(T.batch[i]) : '',
        formatCell(T.arrivalMs[i]), formatCell(T.deviceStartMs[i]), formatCell(T.deviceEndMs[i]),
        formatCell(T.edgeArrivalMs[i]), formatCell(T.edgeStartMs[i]), formatCell(T.edgeEndMs[i]), formatCell(T.endMs[i]),
        completed ? formatCell(T.endMs[i] - T.arrivalMs[i]) : '',
        formatCell(T.deviceMs[i]), formatCell(T.edgeMs[i]), formatCell(T.payloadBytes[i]), formatCell(T.resultBytes[i]),
      ]);
      if (this.rows.length >= 10000) this.flush();
    };
  }

  /** Writes the rows held so far. */
  flush(): void {
    if (this.rows.length === 0) return;
    fs.writeSync(this.fd, stringify(this.rows));
    this.rows = [];
  }

  /** Flushes and closes the file. */
  close(): void {
    this.flush();
    fs.closeSync(this.fd);
  }
}
