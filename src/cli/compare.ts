import * as fs from 'fs';
import * as path from 'path';
import type { CommandModule } from 'yargs';
import { COMPARE_COLUMNS, compareFindings, methodOf, methodSummaries, paretoRank, type CompareInput, type CompareRow } from '../measure/compare';
import { deviceCosts } from '../measure/device';
import { ZOO_DIR } from '../model/meta';
import { toCsv } from '../report/csv';
import { rateAccuracyPlot, renderSvg } from '../report/plots';
import type { SummaryRow } from '../report/summary';
import { formatTable } from '../report/table';
import { OutputSet } from '../util/atomic';
import { inputError, UserError } from '../util/errors';

/** Options of `splitsim compare`. */
export interface CompareArgs {
  in?: string;
  out?: string;
  all?: boolean;
  /** Zoo folder the device sizes are read from (default models/). */
  zoo?: string;
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

const kib = (bits: number | undefined): string => (bits === undefined || !Number.isFinite(bits) ? '-' : (bits / 8 / 1024).toFixed(bits < 8 * 1024 ? 3 : 1));
const mmacs = (m: number | undefined): string => (m === undefined || !Number.isFinite(m) ? '-' : (m / 1e6).toFixed(3));
const range = (lo: number, hi: number, f: (v: number) => string): string => (f(lo) === f(hi) ? f(lo) : `${f(lo)}-${f(hi)}`);

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
  const three = ranked.filter((r) => r.pareto3);
  if (three.length) {
    lines.push('', 'three-way Pareto front (bytes, device size, top-1; pareto3 in compare.csv):');
    lines.push(formatTable(
      ['rank', 'pipeline', 'kind', 'top-1 %', 'bytes mean', 'device KiB', 'device MMACs'],
      three.map((r) => [`${r.rank}`, name(r), r.kind, pct(r.accuracy), r.bytes_mean.toFixed(1), kib(r.device_bits), mmacs(r.device_macs)]),
    ));
  }
  const methods = methodSummaries(measured, f.teacherAccuracy);
  if (methods.length) {
    const lvl = f.teacherAccuracy !== undefined ? `${pct(f.teacherAccuracy - 0.015)}%` : '-';
    lines.push('', 'methods (device size: parameters, buffers and tables on the device, KiB; MACs per sample on the device):');
    lines.push(formatTable(
      ['method', 'runs where', 'rate points', 'bytes', 'best top-1 at <= 64 B', `bytes at top-1 >= ${lvl}`, 'device KiB', 'device MMACs'],
      methods.map((m) => [
        m.method, m.where, `${m.points}`, `${m.bytesMin.toFixed(1)}-${m.bytesMax.toFixed(1)}`,
        m.bestAt64 ? `${pct(m.bestAt64.accuracy)}% (${m.bestAt64.bytes_mean.toFixed(1)} B)` : '-',
        m.atTolerance ? `${m.atTolerance.bytes_mean.toFixed(1)} (${pct(m.atTolerance.accuracy)}%)` : '-',
        range(m.deviceBitsMin, m.deviceBitsMax, kib), range(m.deviceMacsMin, m.deviceMacsMax, mmacs),
      ]),
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

/**
 * Runs `compare`: ranks, marks the rate-accuracy and three-way Pareto fronts (device sizes
 * and MACs of zoo models from their folders, measure/device.ts), writes compare.csv, returns
 * the report.
 */
export async function runCompare(args: CompareArgs): Promise<{ report: string; file: string; rows: CompareRow[] }> {
  const input = path.resolve(args.in ?? path.join('results', 'measure', 'measurements.csv'));
  // Device-only sends no feature or image: it is the unsplit reference, not a codec to rank.
  const measured = readMeasurements(input).filter((r) => r.kind !== 'device-only');
  const device = await deviceCosts(measured, path.resolve(args.zoo ?? ZOO_DIR));
  for (const r of measured) {
    const d = device.get(`${r.model}/${r.split}/${r.codec}`);
    r.device_bits = d?.bits ?? NaN;
    r.device_macs = d?.macs ?? NaN;
  }
  const ranked = paretoRank(measured);
  // --out is a folder (compare.csv goes in it) or, ending in .csv, the file itself.
  const target = args.out ?? 'results';
  const file = /\.csv$/i.test(target) ? path.resolve(target) : path.resolve(target, 'compare.csv');
  const out = new OutputSet(path.dirname(file), 'compare');
  out.add(path.basename(file), toCsv(ranked as unknown as Array<Record<string, string | number>>, [...COMPARE_COLUMNS]));
  // Every method's rate points in one figure (one colour per method).
  const plot = rateAccuracyPlot(ranked.map((r) => ({ pipeline: name(r), kind: methodOf(r), bytes_mean: r.bytes_mean, accuracy: r.accuracy, source: 'measured' }) as unknown as SummaryRow));
  if (plot) {
    out.add('rate-accuracy.svg', await renderSvg(plot.spec));
    out.add('rate-accuracy.vl.json', JSON.stringify(plot.spec, null, 1) + '\n');
  }
  out.commit();
  return { report: compareReport(ranked, args.all ?? false, measured), file, rows: ranked };
}

const command: CommandModule<object, CompareArgs> = {
  command: 'compare',
  describe: 'Rank measured pipelines, mark the rate-accuracy and the three-way (bytes, device size, top-1) Pareto fronts (writes results/compare.csv, rate-accuracy.svg)',
  builder: (y) =>
    y
      .option('in', { type: 'string', describe: 'measurements file (default results/measure/measurements.csv)' })
      .option('out', { type: 'string', describe: 'output folder for compare.csv, or a file name ending in .csv (default results)' })
      .option('all', { type: 'boolean', default: false, describe: 'print every pipeline, not only the Pareto front' })
      .option('zoo', { type: 'string', describe: 'zoo folder the device sizes and MACs are read from (default models/)' }),
  handler: async (args) => {
    const { report, file } = await runCompare(args);
    process.stdout.write(report + `\nwrote ${file}\n`);
  },
};

export default command;
