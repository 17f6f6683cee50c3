import * as fs from 'fs';
import * as path from 'path';
import { UserError } from '../../src/util/errors';
import { loadTrace, parseTrace, traceStats } from '../../src/network/trace';
import { sharedTraces, tempFile } from './helpers';

function err(text: string, format: 'auto' | 'mahimahi' | 'mbps' | 'csv-bytes' = 'auto'): UserError {
  try {
    parseTrace(text, 'bad.trace', format);
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    return e as UserError;
  }
  throw new Error('expected a UserError');
}

describe('mahimahi trace parsing', () => {
  test('keeps every line, repeats included; period is the last timestamp', () => {
    const t = parseTrace('0\n3\n3\n7\n', 'x.up');
    expect(Array.from(t.timesMs)).toEqual([0, 3, 3, 7]);
    expect(t.periodMs).toBe(7);
    expect(t.format).toBe('mahimahi');
  });

  test('a trace of the single line "1" carries exactly 12 Mbit/s', () => {
    const s = traceStats(parseTrace('1\n', 'one.up'));
    expect(s.meanMbps).toBe(12);
    expect(s.p10Mbps).toBe(12);
    expect(s.p50Mbps).toBe(12);
    expect(s.p90Mbps).toBe(12);
    expect(s.emptyWindowFraction).toBe(0);
  });

  test('bad traces name the file and the line', () => {
    expect(err('').message).toMatch(/^bad\.trace: trace is empty/);
    expect(err('\n  \n', 'mahimahi').message).toMatch(/^bad\.trace: trace is empty/);
    expect(err('5\n9\n7\n').message).toBe('bad.trace:3: timestamp 7 is smaller than the previous one (9); timestamps must not decrease');
    expect(err('5\n6\nabc\n').message).toMatch(/^bad\.trace:3: expected a non-negative integer number of milliseconds, found text that is not a number/);
    expect(err('5\n6\n7.5\n').message).toMatch(/^bad\.trace:3: expected a non-negative integer number of milliseconds, found "7\.5"/);
    expect(err('5\n2.5\n').message).toMatch(/^bad\.trace:2: expected a non-negative integer/);
    expect(err('0\n0\n').message).toMatch(/^bad\.trace:2: last timestamp is 0/);
    expect(err('1 2\nx 3\n').message).toMatch(/^bad\.trace:2: expected "time_s rate_Mbps"/);
    expect(err('1,2\n0,3\n').message).toMatch(/^bad\.trace:2: time 0 is smaller than the previous one \(1\)/);
    expect(err('0 0\n1 0\n').message).toMatch(/^bad\.trace: trace carries no capacity/);
  });

  test('a missing file is a UserError naming it', () => {
    expect(() => loadTrace('/nonexistent/trace.up')).toThrow(UserError);
    expect(() => loadTrace('/nonexistent/trace.up')).toThrow(/\/nonexistent\/trace\.up: trace file not found/);
  });
});

describe('rate series become delivery opportunities', () => {
  test('"time_s Mbps": 12 Mbit/s for 1 s then 6 Mbit/s for the median gap (1 s)', () => {
    const t = parseTrace('0\t12\n1\t6\n', 'series.tsv');
    expect(t.format).toBe('mbps');
    expect(t.periodMs).toBe(2000);
    // 1500 B per ms in the first second, one opportunity every 2 ms in the second.
    const expected: number[] = [];
    for (let m = 1; m <= 1000; m++) expected.push(m);
    for (let m = 1002; m <= 2000; m += 2) expected.push(m);
    expect(Array.from(t.timesMs)).toEqual(expected);
    expect(traceStats(t).meanMbps).toBeCloseTo(9, 12);
  });

  test('"seconds,bytes_per_second" with CRLF; time starts at the first sample', () => {
    const t = parseTrace('1,1500000\r\n2,750000\r\n', 'series.csv');
    expect(t.format).toBe('csv-bytes');
    expect(t.periodMs).toBe(2000);
    expect(t.timesMs.length).toBe(1500);
    expect(t.timesMs[999]).toBe(1000);
    expect(t.timesMs[1000]).toBe(1002);
  });

  test('fractional credit carries over: 0.6 opportunity per ms gives one at ms 2, 4, 5, 7, 9, 10', () => {
    // 900 B/ms = 7.2 Mbit/s over 10 ms: cumulative 900, 1800, 2700, ... crosses 1500 k at these ms.
    const t = parseTrace('0 7.2\n0.01 7.2\n', 's.tsv');
    expect(t.periodMs).toBe(20);
    expect(Array.from(t.timesMs).slice(0, 6)).toEqual([2, 4, 5, 7, 9, 10]);
  });
});

/** Reads the mahimahi statistics table of SOURCES.md. */
function sourcesTable(file: string): Array<{ trace: string; nums: string[] }> {
  const rows: Array<{ trace: string; nums: string[] }> = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const m = /^\|\s*([\w-]+\.(?:up|down))\s*\|(.*)\|\s*$/.exec(line);
    if (!m) continue;
    rows.push({ trace: m[1], nums: m[2].split(/[|/%]/).map((s) => s.trim()).filter((s) => s !== '') });
  }
  return rows;
}

/** |x − printed| within half a unit of the printed value's last digit. */
function matchesPrinted(x: number, printed: string): boolean {
  const decimals = printed.includes('.') ? printed.split('.')[1].length : 0;
  return Math.abs(x - Number(printed)) <= 0.5 * 10 ** -decimals + 1e-9;
}

const shared = sharedTraces();
const onShared = shared ? test : test.skip;

describe('real traces in ../shared/traces', () => {
  onShared('mahimahi uplinks match the statistics in SOURCES.md', () => {
    const rows = sourcesTable(path.join(shared!, 'SOURCES.md'));
    expect(rows.length).toBeGreaterThanOrEqual(3);
    for (const { trace, nums } of rows) {
      const s = traceStats(loadTrace(path.join(shared!, 'mahimahi', trace)));
      expect(nums).toHaveLength(6);
      const [dur, mean, p10, p50, p90, empty] = nums;
      const got = [s.durationS, s.meanMbps, s.p10Mbps, s.p50Mbps, s.p90Mbps, s.emptyWindowFraction * 100];
      const want = [dur, mean, p10, p50, p90, empty];
      got.forEach((g, i) => {
        if (!matchesPrinted(g, want[i])) throw new Error(`${trace}: statistic ${i} is ${g}, SOURCES.md says ${want[i]}`);
      });
    }
  });

  onShared('ATT-LTE-driving.up has a mean of 0.83 Mbps (±0.01)', () => {
    const s = traceStats(loadTrace(path.join(shared!, 'mahimahi', 'ATT-LTE-driving.up')));
    expect(Math.abs(s.meanMbps - 0.83)).toBeLessThanOrEqual(0.01);
    expect(s.durationS).toBe(1012.472);
  });

  onShared('norway-hsdpa (time_s Mbps) and wifi-walking (seconds,bytes_per_second) load with their time-weighted mean', () => {
    const files = [
      ...fs.readdirSync(path.join(shared!, 'norway-hsdpa')).map((f) => path.join(shared!, 'norway-hsdpa', f)),
      ...fs.readdirSync(path.join(shared!, 'wifi-walking')).map((f) => path.join(shared!, 'wifi-walking', f)),
    ];
    expect(files.length).toBeGreaterThanOrEqual(2);
    for (const file of files) {
      const t = loadTrace(file);
      const csv = file.endsWith('.csv');
      expect(t.format).toBe(csv ? 'csv-bytes' : 'mbps');
      // Independent integral of the step series (bits), with the last sample held for the median gap.
      const rows = fs.readFileSync(file, 'utf8').trim().split(/\r?\n/).map((l) => l.trim().split(csv ? ',' : /\s+/).map(Number));
      const gaps = rows.slice(1).map((r, i) => r[0] - rows[i][0]).sort((a, b) => a - b);
      const last = gaps[(gaps.length - 1) >> 1];
      let bits = 0;
      rows.forEach((r, i) => {
        const dt = i + 1 < rows.length ? rows[i + 1][0] - r[0] : last;
        bits += (csv ? r[1] * 8 : r[1] * 1e6) * dt;
      });
      const durS = rows[rows.length - 1][0] - rows[0][0] + last;
      expect(t.periodMs).toBe(Math.round(durS * 1000));
      // Whole opportunities only (at most one short), and the period is rounded to whole ms.
      const maxBps = Math.max(...rows.map((r) => (csv ? r[1] * 8 : r[1] * 1e6)));
      const carried = t.timesMs.length * 1500 * 8;
      expect(Math.abs(bits - carried)).toBeLessThan(1500 * 8 + 0.0005 * maxBps);
      const s = traceStats(t);
      expect(s.meanMbps).toBeGreaterThan(0);
    }
  });
});
