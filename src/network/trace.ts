import * as path from 'path';
import { readTextFile } from '../config/load';
import { UserError } from '../util/errors';

/**
 * Link capacity as delivery opportunities, mahimahi's model: at each listed millisecond one
 * opportunity of `opportunityBytes` bytes occurs (a repeated time = several); the list loops
 * with period `periodMs`. Rate series are converted into this form on load.
 */
export interface OpportunityTrace {
  /** File it came from (for messages). */
  file: string;
  /** Format the file was read as. */
  format: TraceFormat;
  /** Non-decreasing opportunity times within one period, integer ms in [0, periodMs]. */
  timesMs: Float64Array;
  /** Loop period in ms (mahimahi: the last timestamp; series: their duration). */
  periodMs: number;
}

export type TraceFormat = 'mahimahi' | 'mbps' | 'csv-bytes';

/** Statistics `splitsim link --trace` prints. */
export interface TraceStats {
  durationS: number;
  meanMbps: number;
  p10Mbps: number;
  p50Mbps: number;
  p90Mbps: number;
  emptyWindowFraction: number;
  opportunities: number;
  opportunityBytes: number;
}

const INT_RE = /^\d+$/;

/**
 * A line quoted in an error: numbers-like text as is (to 40 characters), anything else only
 * described, so that pointing a trace path at another file never prints that file's content.
 */
function shown(line: string): string {
  return /^[\d\s.,eE+-]*$/.test(line) ? `"${line.slice(0, 40)}"` : `text that is not a number (${line.length} characters)`;
}

/*
 * Bounds: a trace longer than 30 days of link time, or with more than 50 million delivery
 * opportunities per loop (75 GB at 1500 B), is not a recording; it would exhaust memory.
 */
/** Longest trace loop accepted, ms (30 days). */
export const MAX_TRACE_MS = 30 * 24 * 3600 * 1000;
/** Most delivery opportunities per loop. */
export const MAX_OPPORTUNITIES = 50_000_000;
/** Largest rate in a rate series, Mbit/s (10 Tbit/s). */
const MAX_MBPS = 1e7;

/** Guesses the format from the first non-blank line: one integer, two whitespace-separated numbers, or a comma. */
export function detectFormat(text: string, file: string): TraceFormat {
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    if (line.includes(',')) return 'csv-bytes';
    if (line.split(/\s+/).length >= 2) return 'mbps';
    return 'mahimahi';
  }
  throw new UserError(`${file}: trace is empty (expected at least one line)`);
}

function lineError(file: string, lineNo: number, msg: string): UserError {
  return new UserError(`${file}:${lineNo}: ${msg}`);
}

/** Parses a mahimahi mm-link trace: one integer millisecond per line, non-decreasing, last > 0. */
export function parseMahimahi(text: string, file: string): OpportunityTrace {
  const lines = text.split('\n');
  const times = new Float64Array(lines.length);
  let n = 0;
  let prev = -1;
  let lastLine = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '') continue;
    if (!INT_RE.test(line)) {
      throw lineError(file, i + 1, `expected a non-negative integer number of milliseconds, found ${shown(line)}`);
    }
    const t = Number(line);
    if (!Number.isSafeInteger(t) || t > MAX_TRACE_MS) throw lineError(file, i + 1, `timestamp ${line.slice(0, 40)} ms is beyond ${MAX_TRACE_MS} ms (30 days)`);
    if (n >= MAX_OPPORTUNITIES) throw lineError(file, i + 1, `more than ${MAX_OPPORTUNITIES} delivery opportunities`);
    if (t < prev) throw lineError(file, i + 1, `timestamp ${t} is smaller than the previous one (${prev}); timestamps must not decrease`);
    times[n++] = t;
    prev = t;
    lastLine = i + 1;
  }
  if (n === 0) throw new UserError(`${file}: trace is empty (expected one millisecond timestamp per line)`);
  if (prev === 0) throw lineError(file, lastLine, 'last timestamp is 0; a trace must last a nonzero time (it loops with period = last timestamp)');
  return { file, format: 'mahimahi', timesMs: times.slice(0, n), periodMs: prev };
}

/**
 * Parses a rate series into (time_s, bytes_per_second) samples. `mbps`: "time_s rate_Mbps"
 * separated by whitespace; `csv-bytes`: "seconds,bytes_per_second".
 */
export function parseRateSeries(text: string, file: string, format: 'mbps' | 'csv-bytes'): { timeS: number[]; bytesPerS: number[] } {
  const timeS: number[] = [];
  const bytesPerS: number[] = [];
  const lines = text.split('\n');
  const expect = format === 'mbps' ? '"time_s rate_Mbps" (two numbers separated by spaces or a tab)' : '"seconds,bytes_per_second"';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '') continue;
    const parts = format === 'mbps' ? line.split(/\s+/) : line.split(',').map((s) => s.trim());
    const t = parts.length === 2 && parts[0] !== '' ? Number(parts[0]) : NaN;
    const r = parts.length === 2 && parts[1] !== '' ? Number(parts[1]) : NaN;
    if (!Number.isFinite(t) || !Number.isFinite(r)) throw lineError(file, i + 1, `expected ${expect}, found ${shown(line)}`);
    if (t < 0 || r < 0) throw lineError(file, i + 1, `time and rate must not be negative, found ${shown(line)}`);
    if (t * 1000 > MAX_TRACE_MS) throw lineError(file, i + 1, `time ${t} s is beyond ${MAX_TRACE_MS / 1000} s (30 days)`);
    const mbps = format === 'mbps' ? r : (r * 8) / 1e6;
    if (mbps > MAX_MBPS) throw lineError(file, i + 1, `rate ${mbps} Mbit/s is above ${MAX_MBPS} Mbit/s (10 Tbit/s)`);
    if (timeS.length > 0 && t < timeS[timeS.length - 1]) {
      throw lineError(file, i + 1, `time ${t} is smaller than the previous one (${timeS[timeS.length - 1]}); times must not decrease`);
    }
    timeS.push(t);
    bytesPerS.push(format === 'mbps' ? (r * 1e6) / 8 : r);
  }
  if (timeS.length === 0) throw new UserError(`${file}: trace is empty (expected lines of ${expect})`);
  return { timeS, bytesPerS };
}

/**
 * Turns a piecewise-constant rate series into delivery opportunities. Sample i holds from its
 * time until the next sample; the last one holds for the median sample interval (1 s if there
 * is a single sample); time starts at the first sample. Capacity accumulates continuously and
 * an opportunity is placed at integer ms m whenever the bytes carried over (0, m] pass another
 * multiple of `opportunityBytes`. Bytes short of a whole opportunity at the loop end are lost.
 */
export function seriesToOpportunities(
  series: { timeS: number[]; bytesPerS: number[] }, opportunityBytes: number, file: string, format: TraceFormat,
): OpportunityTrace {
  const { timeS, bytesPerS } = series;
  const n = timeS.length;
  const gaps: number[] = [];
  for (let i = 1; i < n; i++) if (timeS[i] > timeS[i - 1]) gaps.push(timeS[i] - timeS[i - 1]);
  gaps.sort((a, b) => a - b);
  const lastGapS = gaps.length === 0 ? 1 : gaps[(gaps.length - 1) >> 1];
  const t0 = timeS[0];
  const startMs = timeS.map((t) => (t - t0) * 1000);
  const periodMs = Math.max(1, Math.round(startMs[n - 1] + lastGapS * 1000));
  if (periodMs > MAX_TRACE_MS) throw new UserError(`${file}: the series lasts ${periodMs} ms, beyond ${MAX_TRACE_MS} ms (30 days)`);
  let total = 0;
  for (let i = 0; i < n; i++) total += (bytesPerS[i] * ((i + 1 < n ? startMs[i + 1] : periodMs) - startMs[i])) / 1000;
  if (total / opportunityBytes > MAX_OPPORTUNITIES) {
    throw new UserError(`${file}: the series carries ${Math.round(total / opportunityBytes)} delivery opportunities of ${opportunityBytes} B per loop, more than ${MAX_OPPORTUNITIES}`);
  }
  const out: number[] = [];
  let seg = 0;
  let cumAtSegStart = 0; // bytes carried from 0 to startMs[seg]
  let prevCount = 0;
  for (let m = 1; m <= periodMs; m++) {
    while (seg + 1 < n && startMs[seg + 1] <= m) {
      cumAtSegStart += (bytesPerS[seg] * (startMs[seg + 1] - startMs[seg])) / 1000;
      seg++;
    }
    const cum = cumAtSegStart + (bytesPerS[seg] * (m - startMs[seg])) / 1000;
    const count = Math.floor(cum / opportunityBytes + 1e-9);
    for (let k = prevCount; k < count; k++) out.push(m);
    if (count > prevCount) prevCount = count;
  }
  if (out.length === 0) throw new UserError(`${file}: trace carries no capacity (all rates are 0 or too small for one ${opportunityBytes}-byte opportunity)`);
  return { file, format, timesMs: Float64Array.from(out), periodMs };
}

/** Parses trace text in the given (or detected) format into opportunities. */
export function parseTrace(text: string, file: string, format: TraceFormat | 'auto' = 'auto', opportunityBytes = 1500): OpportunityTrace {
  const fmt = format === 'auto' ? detectFormat(text, file) : format;
  if (fmt === 'mahimahi') return parseMahimahi(text, file);
  return seriesToOpportunities(parseRateSeries(text, file, fmt), opportunityBytes, file, fmt);
}

const cache = new Map<string, OpportunityTrace>();
/** Largest trace file read (512 MB). */
const MAX_TRACE_FILE_BYTES = 512 * 1024 * 1024;

/** Loads (once per process) a trace file; errors are UserErrors naming the file and line. */
export function loadTrace(file: string, format: TraceFormat | 'auto' = 'auto', opportunityBytes = 1500): OpportunityTrace {
  const abs = path.resolve(file);
  const key = `${abs}\u0000${format}\u0000${opportunityBytes}`;
  let t = cache.get(key);
  if (!t) {
    t = parseTrace(readTextFile(file, 'trace file', MAX_TRACE_FILE_BYTES), file, format, opportunityBytes);
    cache.set(key, t);
  }
  return t;
}

/** Linear-interpolation quantile (type 7) of sorted values. */
function quantileSorted(xs: number[], q: number): number {
  if (xs.length === 0) return NaN;
  const h = (xs.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, xs.length - 1);
  return xs[lo] + (h - lo) * (xs[hi] - xs[lo]);
}

/**
 * Statistics of a trace. An opportunity at ms t carries capacity of the interval (t-1, t], so
 * it counts in the window (kW, (k+1)W] holding t; an opportunity at 0 belongs to the previous
 * loop's last window. Only whole windows count. Traces shorter than 10 s are looped to 10 s.
 */
export function traceStats(trace: OpportunityTrace, opportunityBytes = 1500): TraceStats {
  const { timesMs, periodMs } = trace;
  const loops = periodMs < 10000 ? Math.ceil(10000 / periodMs) : 1;
  const spanMs = loops * periodMs;
  const window = (w: number): number[] => {
    const full = Math.floor(spanMs / w);
    const counts = new Array<number>(full).fill(0);
    for (let j = 0; j < loops; j++) {
      for (let i = 0; i < timesMs.length; i++) {
        let t = timesMs[i] + j * periodMs;
        if (t === 0) t = spanMs;
        const k = Math.ceil(t / w) - 1;
        if (k < full) counts[k]++;
      }
    }
    return counts;
  };
  const perSecond = window(1000).map((c) => (c * opportunityBytes * 8) / 1e6).sort((a, b) => a - b);
  const tenths = window(100);
  return {
    durationS: periodMs / 1000,
    meanMbps: (timesMs.length * opportunityBytes * 8) / (periodMs * 1000),
    p10Mbps: quantileSorted(perSecond, 0.1),
    p50Mbps: quantileSorted(perSecond, 0.5),
    p90Mbps: quantileSorted(perSecond, 0.9),
    emptyWindowFraction: tenths.length === 0 ? NaN : tenths.filter((c) => c === 0).length / tenths.length,
    opportunities: timesMs.length,
    opportunityBytes,
  };
}
