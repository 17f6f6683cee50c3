import { parseCsv as parseCsvCells } from '../../src/cli/compare';
import { cliHarness } from '../helpers/cli';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/**
 * The real command line: `node bin/splitsim.js simulate ...` in a scratch working directory
 * (results/ lands there). Needs the build (`npm test` runs tsc first).
 */
const { maybe, work, run } = cliHarness('simulate', 'src/cli/index.js');
const cli = (args: string[], cwd = work) => run(args, { cwd });

const SMALL = `
name: small
seed: 9
duration: { requests: 400 }
warmup: { requests: 40 }
devices:
  count: 2
  arrival: { type: poisson, ratePerS: 8 }
uplink: { type: constant, rateBps: 2000000, delayMs: 25 }
downlink: { type: constant, rateBps: 8000000, delayMs: 25 }
edge: { workers: 1 }
deadlineMs: 150
pipelines:
  - name: offload
    deviceMs: { type: normal, mean: 4, std: 1 }
    payloadBytes: [8000, 9500, 12000, 7000]
    edgeMs: { type: exponential, mean: 20 }
    resultBytes: 64
  - name: local
    local: true
    deviceMs: { type: lognormal, mean: 60, std: 10 }
`;

function scenarioFile(name: string, text: string): string {
  const f = path.join(work, name);
  fs.writeFileSync(f, text);
  return f;
}

const REQUIRED = [
  'scenario', 'pipeline', 'seed', 'requests', 'completed', 'dropped', 'throughput_rps', 'e2e_mean_ms', 'e2e_p50_ms',
  'e2e_p95_ms', 'e2e_p99_ms', 'e2e_std_ms', 'e2e_ci95_ms', 'device_queue_ms', 'device_ms', 'uplink_ms',
  'edge_queue_ms', 'edge_ms', 'downlink_ms', 'deadline_miss_ratio', 'splitsim_version',
  // the decision's columns
  'source', 'model', 'split', 'codec', 'params', 'accuracy', 'accuracy_ontime', 'bytes_mean', 'bytes_p95',
  'energy_mj', 'energy_compute_mj', 'energy_radio_mj', 'best', 'pareto',
];

function parseCsv(text: string): Array<Record<string, string>> {
  const [head, ...lines] = parseCsvCells(text);
  return lines.map((l) => Object.fromEntries(l.map((v, i) => [head[i], v])));
}

const TINY = (pipelines: string) => `
name: tiny
seed: 4
duration: { requests: 300 }
samples: 60
devices:
  count: 2
  arrival: { type: poisson, ratePerS: 4 }
  profile: raspberry-pi-4
  radio: lte
uplink: { type: constant, rateBps: 1000000, delayMs: 20 }
downlink: { type: constant, rateBps: 5000000, delayMs: 20 }
edge: { profile: t4, maxBatch: 4, maxWaitMs: 1 }
deadlineMs: 200
pipelines:
${pipelines}`;

maybe('splitsim simulate', () => {
  test('lte.yaml: every split, student, input quality and both extremes, ranked, with a best pipeline that meets the constraints', () => {
    const r = cli(['simulate', '--scenario', 'lte.yaml']);
    expect(r.stderr).not.toMatch(/error|warning/i);
    expect(r.code).toBe(0);
    const csv = fs.readFileSync(path.join(work, 'results', 'lte', 'summary.csv'), 'utf8');
    const header = csv.split('\n')[0].split(',');
    for (const c of REQUIRED) expect(header).toContain(c);
    const rows = parseCsv(csv);
    const names = rows.map((x) => x.pipeline);
    expect(names).toContain('teacher/device-only');
    for (const split of ['stem', 'stage1', 'stage2', 'stage3', 'pool']) expect(rows.some((x) => x.split === split && x.model === 'teacher')).toBe(true);
    for (const st of ['student-b0.1', 'student-b0.15', 'student-b0.3', 'student-b1']) expect(names).toContain(`${st}/bottleneck/factorized`);
    for (const codec of ['jpeg', 'webp', 'avif']) expect(rows.filter((x) => x.split === 'input' && x.codec === codec).length).toBeGreaterThanOrEqual(4);
    for (const row of rows) {
      expect(row.source).toBe('measured');
      expect(Number(row.accuracy)).toBeGreaterThan(0.2); // trained models: far above chance (0.1), even at 2 bits
      expect(Number(row.energy_mj)).toBeCloseTo(Number(row.energy_compute_mj) + Number(row.energy_radio_mj), 6);
      expect(Number.isFinite(Number(row.bytes_mean))).toBe(true);
      expect(Number(row.completed)).toBeGreaterThan(1000);
      // Stage means add up to the end-to-end mean.
      const stages = ['device_queue_ms', 'device_ms', 'uplink_ms', 'edge_queue_ms', 'edge_ms', 'downlink_ms'].reduce((s, c) => s + Number(row[c]), 0);
      expect(stages).toBeCloseTo(Number(row.e2e_mean_ms), 6);
    }
    // Offloading pipelines pay radio energy; the device-only extreme sends nothing.
    const local = rows.find((x) => x.pipeline === 'teacher/device-only')!;
    expect(Number(local.energy_radio_mj)).toBe(0);
    expect(rows.filter((x) => x.split !== 'device-only').every((x) => Number(x.energy_radio_mj) > 0)).toBe(true);
    // One best row, ranked first, feasible, within 1.5 points of the unsplit teacher, meeting the deadline.
    const best = rows.filter((x) => x.best === '1');
    expect(best).toHaveLength(1);
    expect(best[0]).toBe(rows[0]);
    expect(Number(best[0].accuracy)).toBeGreaterThanOrEqual(Number(local.accuracy) - 0.015 - 1e-9);
    expect(Number(best[0].deadline_miss_ratio)).toBeLessThanOrEqual(0.05);
    expect(r.stdout).toMatch(new RegExp(`best: ${best[0].pipeline.replace(/[[\]]/g, '\\$&')} \\(measured\\)`));
    expect(rows.map((x) => Number(x.rank))).toEqual(rows.map((_, i) => i + 1));
    // Rows that miss a constraint say which.
    for (const row of rows.filter((x) => x.feasible === '0')) expect(row.violates).toMatch(/top-1|deadline/);
    expect(rows.some((x) => x.pareto === '1')).toBe(true);
    const run = JSON.parse(fs.readFileSync(path.join(work, 'results', 'lte', 'run.json'), 'utf8'));
    expect(run).toMatchObject({ command: 'simulate', seed: 42, reference: 'teacher/device-only', device_profile: 'raspberry-pi-4', edge_profile: 't4', scenario: { name: 'lte' } });
    expect(run.decision.best).toBe(best[0].pipeline);
    expect(run.splitsim_version).toMatch(/^\d+\.\d+\.\d+/);
    expect(fs.existsSync(path.join(work, 'results', 'lte', 'measurements.csv'))).toBe(true);
  });

  test('any valid codec setting can be named (webp[quality=55]); same seed, same files (measurements.json too); another seed differs', () => {
    const env = { ...process.env, SPLITSIM_CACHE_DIR: path.join(work, 'cache-tiny') };
    const f = scenarioFile('tiny.yaml', TINY('  - teacher/input/webp[quality=55]\n  - student-b0.3/bottleneck/factorized\n  - teacher/stage2/quant[bits=3]\n'));
    const a = run(['simulate', '--scenario', f, '--out', 'ta', '--requests-csv'], { env });
    expect(a.stderr).not.toMatch(/error/i);
    expect(a.code).toBe(0);
    const rows = parseCsv(fs.readFileSync(path.join(work, 'ta', 'summary.csv'), 'utf8'));
    expect(rows.map((x) => x.pipeline)).toEqual(expect.arrayContaining(['teacher/input/webp[quality=55]', 'teacher/stage2/quant[bits=3;granularity=channel;entropy=rans]']));
    // A fresh cache measures again: the files must still be identical (no clock reading in them).
    const b = run(['simulate', '--scenario', f, '--out', 'tb', '--requests-csv'], { env: { ...process.env, SPLITSIM_CACHE_DIR: path.join(work, 'cache-tiny2') } });
    expect(b.code).toBe(0);
    for (const file of ['summary.csv', 'requests.csv', 'measurements.csv', 'measurements.json']) {
      expect([file, fs.readFileSync(path.join(work, 'tb', file)).equals(fs.readFileSync(path.join(work, 'ta', file)))]).toEqual([file, true]);
    }
    const c = run(['simulate', '--scenario', f, '--out', 'tc', '--seed', '5'], { env });
    expect(c.code).toBe(0);
    expect(fs.readFileSync(path.join(work, 'tc', 'summary.csv')).equals(fs.readFileSync(path.join(work, 'ta', 'summary.csv')))).toBe(false);
    // The batching edge ran some requests together.
    const reqs = parseCsv(fs.readFileSync(path.join(work, 'ta', 'requests.csv'), 'utf8'));
    expect(reqs.some((x) => Number(x.batch) > 1)).toBe(true);
  });

  test('three misspelled names are all reported before anything is measured: exit 2, nothing written', () => {
    const cache = path.join(work, 'cache-bad');
    const f = scenarioFile('typos.yaml', TINY('  - teacher/input/jpg[quality=50]\n  - student-b0.3/botleneck/factorized\n  - teacher/stage2/quant[bitz=4]\n  - teacher/input/png\n'));
    const r = run(['simulate', '--scenario', f, '--out', 'typos'], { env: { ...process.env, SPLITSIM_CACHE_DIR: cache } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/3 problems/);
    expect(r.stderr).toMatch(/field 'pipelines\[0\]': unknown codec 'jpg'/);
    expect(r.stderr).toMatch(/field 'pipelines\[1\]': 'botleneck' is not a split of student-b0\.3 \(splits: device-only, input, bottleneck, decoder, stage3, pool\)/);
    expect(r.stderr).toMatch(/field 'pipelines\[2\]': codec 'quant': unknown parameter\(s\) 'bitz' \(quant takes bits, granularity, entropy\)/);
    expect(fs.existsSync(cache)).toBe(false); // nothing measured
    expect(fs.existsSync(path.join(work, 'typos'))).toBe(false);
  });

  test('an overloaded link is reported at once with its utilisation', () => {
    const f = scenarioFile('slow.yaml', TINY('  - teacher/input/raw\n').replace('rateBps: 1000000, delayMs: 20', 'rateBps: 5, delayMs: 20').replace('duration: { requests: 300 }', 'duration: { requests: 4 }'));
    const r = cli(['simulate', '--scenario', f, '--out', 'slow']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/warning: pipeline 'teacher\/input\/raw': uplink utilisation \d+/);
    expect(r.stderr).toMatch(/queues grow for the whole run/);
    const row = parseCsv(fs.readFileSync(path.join(work, 'slow', 'summary.csv'), 'utf8')).find((x) => x.pipeline === 'teacher/input/raw')!;
    expect(Number(row.uplink_load)).toBeGreaterThan(1);
  });

  test('--out, --requests-csv; same seed gives byte-identical files, another seed other numbers', () => {
    const f = scenarioFile('small.yaml', SMALL);
    const a = cli(['simulate', '--scenario', f, '--out', 'a', '--requests-csv']);
    expect(a.code).toBe(0);
    const b = cli(['simulate', '--scenario', f, '--out', 'b', '--requests-csv']);
    const c = cli(['simulate', '--scenario', f, '--out', 'c', '--seed', '10']);
    expect(b.code).toBe(0);
    expect(c.code).toBe(0);
    expect(fs.existsSync(path.join(work, 'results', 'small'))).toBe(false);
    const read = (d: string, file: string) => fs.readFileSync(path.join(work, d, file));
    expect(read('a', 'summary.csv').equals(read('b', 'summary.csv'))).toBe(true);
    expect(read('a', 'requests.csv').equals(read('b', 'requests.csv'))).toBe(true);
    expect(read('a', 'run.json').equals(read('b', 'run.json'))).toBe(true);
    expect(fs.existsSync(path.join(work, 'c', 'requests.csv'))).toBe(false);
    const byName = (rows: Array<Record<string, string>>) => Object.fromEntries(rows.map((x) => [x.pipeline, x]));
    const ra = byName(parseCsv(read('a', 'summary.csv').toString()));
    const rc = byName(parseCsv(read('c', 'summary.csv').toString()));
    expect(rc.offload.seed).toBe('10');
    expect(rc.offload.e2e_mean_ms).not.toBe(ra.offload.e2e_mean_ms);
    expect(rc.local.e2e_mean_ms).not.toBe(ra.local.e2e_mean_ms);
    expect(JSON.parse(read('c', 'run.json').toString()).seed).toBe(10);
    // requests.csv: one row per request and pipeline, timelines consistent with the summary.
    const reqs = parseCsv(read('a', 'requests.csv').toString());
    expect(reqs.length).toBe(800);
    const offload = reqs.filter((x) => x.pipeline === 'offload' && x.measured === '1' && x.status === 'completed');
    const meanE2e = offload.reduce((s, x) => s + Number(x.end_ms) - Number(x.arrival_ms), 0) / offload.length;
    expect(meanE2e).toBeCloseTo(Number(ra.offload.e2e_mean_ms), 4);
    expect(Number(ra.offload.requests)).toBe(360);
  });

  const BAD: Array<[string, string | null, RegExp]> = [
    ['a missing scenario', null, /missing\.yaml: scenario not found/],
    ['a negative rate', SMALL.replace('ratePerS: 8', 'ratePerS: -8'), /field 'devices\.arrival\.ratePerS': must be at least 1e-7/],
    ['a misspelled field', SMALL.replace('edgeMs: {', 'edgeMS: {'), /field 'pipelines\[0\]': unknown field\(s\) 'edgeMS'/],
    ['a non-YAML file', '{{{ this is : not: yaml', /not valid YAML/],
  ];
  test.each(BAD)('%s: exit 2, one message naming file and field, nothing written', (what, text, pattern) => {
    const dir = fs.mkdtempSync(path.join(work, 'bad-'));
    const f = text === null ? path.join(dir, 'missing.yaml') : scenarioFile(path.relative(work, path.join(dir, 'bad.yaml')), text);
    const r = cli(['simulate', '--scenario', f], dir);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^splitsim: /);
    expect(lines[0]).toContain(f);
    expect(lines[0]).toMatch(pattern);
    expect(fs.readdirSync(dir).filter((x) => x !== 'bad.yaml')).toEqual([]); // no results/
    void what;
  });

  test('a bad --seed or --pipeline is bad input too', () => {
    const f = scenarioFile('small2.yaml', SMALL);
    const seed = cli(['simulate', '--scenario', f, '--seed', '-3', '--out', 'never']);
    expect(seed.code).toBe(2);
    expect(seed.stderr).toMatch(/--seed/);
    const pipe = cli(['simulate', '--scenario', f, '--pipeline', 'nope', '--out', 'never']);
    expect(pipe.code).toBe(2);
    expect(pipe.stderr).toMatch(/'nope' is not a pipeline/);
    expect(fs.existsSync(path.join(work, 'never'))).toBe(false);
    const only = cli(['simulate', '--scenario', f, '--pipeline', 'local', '--out', 'only']);
    expect(only.code).toBe(0);
    expect(parseCsv(fs.readFileSync(path.join(work, 'only', 'summary.csv'), 'utf8')).map((x) => x.pipeline)).toEqual(['local']);
  });
});
