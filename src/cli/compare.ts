import * as fs from 'fs';
import * as path from 'path';
import type { CommandModule } from 'yargs';
import { COMPARE_COLUMNS, compareFindings, paretoRank, type CompareInput, type CompareRow } from '../measure/compare';
import { toCsv } from '../report/csv';
import { formatTable } from '../report/table';
import { OutputSet } from '../util/atomic';
import { inputError, UserError } from '../util/errors';

/** Options of `splitsim compare`. */
export interface CompareArgs {
  in?: string;
  out?: string;
  all?: boolean;
}

/** Parses RFC 4180 CSV (quoted fields, doubled quotes, CRLF or LF) into rows of cells. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') { cell += '"'; i++; } else quoted = false;
      } else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') { row.push(cell); cell = ''; }
    else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(cell); cell = '';
      if (row.length > 1 || row[0] !== '') rows.push(row);
      row = [];
    } else cell += ch;
  }
  if (quoted) throw new Error('unterminated quoted field');
  if (cell !== '' || row.length) { row.push(cell); rows.push(row); }
  return rows;
}

const NUMERIC = ['samples', 'accuracy', 'accuracy_ci95', 'bytes_mean', 'bytes_p95', 'encode_ms_host', 'decode_ms_host'] as const;

/** Reads measurements.csv into comparison rows, naming the file, line and column on bad input. */
export function readMeasurements(file: string): CompareInput[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new UserError(`${file}: measurements not found (run 'splitsim measure' first)`);
  }
  let records: Array<Record<string, string>>;
  // Every CSV splitsim writes ends its last row with a newline: without one it was cut short.
  if (text.length > 0 && !text.endsWith('\n')) throw new UserError(`${file}: the file ends in the middle of a row (truncated?)`);
  try {
    const [header, ...body] = parseCsv(text);
    records = body.map((cells, i) => {
      if (cells.length !== header.length) throw new Error(`line ${i + 2} has ${cells.length} cells, the header ${header.length}`);
      return Object.fromEntries(header.map((h, j) => [h, cells[j]]));
    });
  } catch (e) {
    throw new UserError(`${file}: not a valid CSV file (${(e as Error).message})`);
  }
  const need = ['model', 'split', 'codec', 'params', 'kind', ...NUMERIC];
  if (records.length === 0) throw new UserError(`${file}: no measurements in the file`);
  const missing = need.filter((c) => !(c in records[0]));
  if (missing.length) throw inputError(file, missing[0], `missing column (expected ${need.join(', ')})`);
  return records.map((r, i) => {
    const row: Record<string, string | number> = { model: r.model, split: r.split, codec: r.codec, params: r.params, kind: r.kind };
    for (const c of NUMERIC) {
      const v = Number(r[c]);
      // Host codec times are empty where a codec's cost class is not calibrated.
      if (r[c] === '' && (c === 'encode_ms_host' || c === 'decode_ms_host')) { row[c] = NaN; continue; }
      if (r[c] === '' || !Number.isFinite(v)) throw new UserError(`${file}:${i + 2}: column '${c}': expected a number, got '${r[c]}'`);
      row[c] = v;
    }
    return row as unknown as CompareInput;
  });
}

const pct = (v: number | undefined): string => (v === undefined ? '-' : (v * 100).toFixed(2));
const name = (r: CompareInput): string => `${r.model}/${r.split}/${r.codec}${r.params ? `[${r.params}]` : ''}`;

/** '26.0 (quant bits=2;...)': a row's mean bytes and its codec, or '-'. */
function bytesAndCodec(r: CompareInput | undefined): string {
  return r ? `${r.bytes_mean.toFixed(1)} (${r.codec}${r.params ? ` ${r.params}` : ''})` : '-';
}

/** The text report of `splitsim compare`. */
export function compareReport(ranked: CompareRow[], all: boolean, measured: CompareInput[] = ranked): string {
  // Findings list split points in measurement order (network order), hence the original rows.
  const f = compareFindings(measured);
  const lines: string[] = [];
  const shown = all ? ranked : ranked.filter((r) => r.pareto);
  lines.push(all ? 'pipelines ranked by mean bytes (* = rate-accuracy Pareto front):' : 'rate-accuracy Pareto front, ranked by mean bytes (all rows in compare.csv):');
  lines.push(formatTable(
    ['rank', 'pipeline', 'kind', 'top-1 %', '±95%', 'bytes mean', 'bytes p95', 'enc ms (host)', 'dec ms (host)'],
    shown.map((r) => [
      `${r.rank}${r.pareto ? '*' : ''}`, name(r), r.kind, pct(r.accuracy), pct(r.accuracy_ci95),
      r.bytes_mean.toFixed(1), r.bytes_p95.toFixed(0), r.encode_ms_host.toFixed(3), r.decode_ms_host.toFixed(3),
    ]),
  ));
  if (f.teacherAccuracy !== undefined && f.levels.length) {
    const kinds = Object.keys(f.levels[0].cheapest);
    lines.push('', `fewest mean bytes to reach a top-1 (teacher on raw images: ${pct(f.teacherAccuracy)}%), by kind of pipeline:`);
    lines.push(formatTable(
      ['top-1 >= %', ...kinds],
      f.levels.map((l) => [pct(l.accuracy), ...kinds.map((k) => {
        const c = l.cheapest[k];
        return c ? `${c.bytes_mean.toFixed(1)} (${c.codec}${c.params ? ` ${c.params}` : ''}${c.kind === 'naive' ? ` @${c.split}` : ''})` : '-';
      })]),
    ));
  }
  if (f.reference) {
    const ref = f.reference;
    lines.push('', `reference: ${name(ref.row)} is the smallest student within 1.5 points of the teacher: A = ${pct(ref.accuracy)}%, ${ref.bytes.toFixed(1)} bytes`);
    if (f.inputAtLeastA.length) {
      const worst = f.inputAtLeastA[0];
      lines.push(`input-codec configurations with top-1 >= A: ${f.inputAtLeastA.length}; the cheapest, ${name(worst.row)}, sends ${worst.row.bytes_mean.toFixed(1)} bytes = ${worst.ratio.toFixed(2)}x the student (${worst.ratio >= 3 ? 'meets' : 'FAILS'} the >= 3x claim)`);
    } else {
      lines.push('no input-codec configuration reaches top-1 >= A');
    }
  } else if (f.teacherAccuracy !== undefined) {
    lines.push('', 'no bottleneck student is within 1.5 points of the teacher');
    if (f.closest) {
      const c = f.closest;
      const cheapest = c.inputAtLeast[0];
      lines.push(
        `the most accurate student, ${name(c.row)}: ${pct(c.accuracy)}% at ${c.bytes.toFixed(1)} bytes; ` +
          (cheapest
            ? `the cheapest input codec at least as accurate, ${name(cheapest.row)}, sends ${cheapest.row.bytes_mean.toFixed(1)} bytes = ${cheapest.ratio.toFixed(2)}x`
            : 'no input codec is as accurate'),
      );
    }
  }
  lines.push('', `naive splits not dominated by any input-codec configuration (as accurate or more for no more bytes): ${f.naiveUndominated.length} of ${f.naiveCount}`);
  if (f.bySplit.length) {
    const lvl = f.teacherAccuracy !== undefined ? `${pct(f.teacherAccuracy - 0.015)}%` : '-';
    lines.push(formatTable(
      ['split point', 'undominated', `fewest bytes at top-1 >= ${lvl}`, 'input codecs\' fewest there'],
      f.bySplit.map((b) => [
        b.split, `${b.undominated}/${b.total}`,
        bytesAndCodec(b.cheapest),
        bytesAndCodec(b.inputCheapest),
      ]),
    ));
  }
  return lines.join('\n') + '\n';
}

/** Runs `compare`: ranks, marks the Pareto front, writes compare.csv, returns the report. */
export function runCompare(args: CompareArgs): { report: string; file: string; rows: CompareRow[] } {
  const input = path.resolve(args.in ?? path.join('results', 'measure', 'measurements.csv'));
  // Device-only sends no feature or image: it is the unsplit reference, not a codec to rank.
  const measured = readMeasurements(input).filter((r) => r.kind !== 'device-only');
  const ranked = paretoRank(measured);
  // --out is a folder (compare.csv goes in it) or, ending in .csv, the file itself.
  const target = args.out ?? 'results';
  const file = /\.csv$/i.test(target) ? path.resolve(target) : path.resolve(target, 'compare.csv');
  const out = new OutputSet(path.dirname(file), 'compare');
  out.add(path.basename(file), toCsv(ranked as unknown as Array<Record<string, string | number>>, [...COMPARE_COLUMNS]));
  out.commit();
  return { report: compareReport(ranked, args.all ?? false, measured), file, rows: ranked };
}

const command: CommandModule<object, CompareArgs> = {
  command: 'compare',
  describe: 'Rank measured pipelines and mark the rate-accuracy Pareto front (writes results/compare.csv)',
  builder: (y) =>
    y
      .option('in', { type: 'string', describe: 'measurements file (default results/measure/measurements.csv)' })
      .option('out', { type: 'string', describe: 'output folder for compare.csv, or a file name ending in .csv (default results)' })
      .option('all', { type: 'boolean', default: false, describe: 'print every pipeline, not only the Pareto front' }),
  handler: (args) => {
    const { report, file } = runCompare(args);
    process.stdout.write(report + `\nwrote ${file}\n`);
  },
};

export default command;
