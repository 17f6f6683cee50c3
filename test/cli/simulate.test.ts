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
];

function parseCsv(text: string): Array<Record<string, string>> {
  const [head, ...lines] = text.trim().split('\n');
  const cols = head.split(',');
  return lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [cols[i], v])));
}

maybe('splitsim simulate', () => {
  test('lte.yaml: prints the table and writes results/lte/summary.csv with the required columns', () => {
    const r = cli(['simulate', '--scenario', 'lte.yaml']);
    // stderr carries only the measured pipelines' progress lines, never an error.
    expect(r.stderr).not.toMatch(/splitsim:|error/i);
    expect(r.code).toBe(0);
    for (const p of ['jpeg75-offload', 'sc2-split', 'local', 'fmnist-jpeg50', 'fmnist-sc2']) expect(r.stdout).toContain(p);
    const csv = fs.readFileSync(path.join(work, 'results', 'lte', 'summary.csv'), 'utf8');
    const header = csv.split('\n')[0].split(',');
    for (const c of REQUIRED) expect(header).toContain(c);
    const rows = parseCsv(csv);
    expect(rows.map((x) => x.pipeline)).toEqual(['jpeg75-offload', 'sc2-split', 'local', 'fmnist-jpeg50', 'fmnist-naive-stage2', 'fmnist-sc2']);
    // Measured pipelines carry their top-1 (a trained model: far above chance) and energy.
    for (const row of rows.filter((x) => x.pipeline.startsWith('fmnist-'))) {
      expect(Number(row.accuracy)).toBeGreaterThan(0.8);
      expect(Number(row.device_energy_mj)).toBeGreaterThan(0);
    }
    for (const row of rows) {
      expect(row.scenario).toBe('lte');
      expect(row.seed).toBe('42');
      expect(Number(row.completed)).toBeGreaterThan(1000);
      // Stage means add up to the end-to-end mean.
      const stages = ['device_queue_ms', 'device_ms', 'uplink_ms', 'edge_queue_ms', 'edge_ms', 'downlink_ms'].reduce((s, c) => s + Number(row[c]), 0);
      expect(stages).toBeCloseTo(Number(row.e2e_mean_ms), 6);
    }
    const run = JSON.parse(fs.readFileSync(path.join(work, 'results', 'lte', 'run.json'), 'utf8'));
    expect(run).toMatchObject({ command: 'simulate', seed: 42, scenario: { name: 'lte' } });
    expect(run.splitsim_version).toMatch(/^\d+\.\d+\.\d+/);
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
    const ra = parseCsv(read('a', 'summary.csv').toString());
    const rc = parseCsv(read('c', 'summary.csv').toString());
    expect(rc[0].seed).toBe('10');
    expect(rc[0].e2e_mean_ms).not.toBe(ra[0].e2e_mean_ms);
    expect(rc[1].e2e_mean_ms).not.toBe(ra[1].e2e_mean_ms);
    expect(JSON.parse(read('c', 'run.json').toString()).seed).toBe(10);
    // requests.csv: one row per request and pipeline, timelines consistent with the summary.
    const reqs = parseCsv(read('a', 'requests.csv').toString());
    expect(reqs.length).toBe(800);
    const offload = reqs.filter((x) => x.pipeline === 'offload' && x.measured === '1' && x.status === 'completed');
    const meanE2e = offload.reduce((s, x) => s + Number(x.end_ms) - Number(x.arrival_ms), 0) / offload.length;
    expect(meanE2e).toBeCloseTo(Number(ra[0].e2e_mean_ms), 4);
    expect(Number(ra[0].requests)).toBe(360);
  });

  const BAD: Array<[string, string | null, RegExp]> = [
    ['a missing scenario', null, /missing\.yaml: scenario not found/],
    ['a negative rate', SMALL.replace('ratePerS: 8', 'ratePerS: -8'), /field 'devices\.arrival\.ratePerS'/],
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
