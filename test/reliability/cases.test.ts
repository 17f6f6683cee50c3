import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { BIN, cliHarness, ROOT } from '../helpers/cli';

/**
 * Malformed and extreme inputs through the real command line: each must exit 0 (valid input,
 * perhaps with a warning) or 2 with a message naming the file and field, within 30 s, and a
 * failed run writes nothing into --out.
 */
const { maybe, work } = cliHarness('reliability', 'src/cli/index.js');

const BASE = `name: base
seed: 1
duration: { requests: 50 }
devices: { count: 1, arrival: { type: poisson, ratePerS: 5 } }
uplink: { type: constant, rateBps: 1000000, delayMs: 10 }
downlink: { type: constant, rateBps: 1000000, delayMs: 10 }
pipelines:
  - { name: a, deviceMs: 1, payloadBytes: 1000, edgeMs: 1, resultBytes: 10 }
`;

interface Case {
  name: string;
  /** Files to write in the case's folder (scenario.yaml by default gets BASE with edits). */
  files?: Record<string, string>;
  scenario?: string;
  args?: string[];
  code: 0 | 2;
  message: RegExp;
}

const withLink = (dir: 'uplink' | 'downlink', spec: string) => BASE.replace(new RegExp(`^${dir}: .*$`, 'm'), `${dir}: ${spec}`);
const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
for (let i = 0; i < 8; i++) bomb.push(`${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)}]`);

const CASES: Case[] = [
  { name: 'downlink.rateBps 1e-300', scenario: withLink('downlink', '{ type: constant, rateBps: 1e-300 }'), code: 2, message: /field 'downlink\.rateBps': must be at least 1 bit\/s/ },
  { name: 'delayMs 1e308', scenario: withLink('uplink', '{ type: constant, rateBps: 1000000, delayMs: 1e308 }'), code: 2, message: /field 'uplink\.delayMs': must be at most/ },
  { name: 'Markov sojourn 1e-300', scenario: withLink('uplink', '{ type: markov, states: [{ rateBps: 1e6, meanSojournMs: 1e-300 }, { rateBps: 2e6, meanSojournMs: 100 }] }'), code: 2, message: /field 'uplink\.states\[0\]\.meanSojournMs': must be at least 0\.01 ms/ },
  { name: 'duration.seconds 1e308', scenario: BASE.replace('{ requests: 50 }', '{ seconds: 1e308 }'), code: 2, message: /field 'duration\.seconds': must be at most 1e8 s/ },
  { name: 'duration of a billion requests', scenario: BASE.replace('{ requests: 50 }', '{ requests: 1000000000 }'), code: 2, message: /field 'duration\.requests': about 1\.00e\+9 requests per pipeline, more than .* \(--max-requests raises it/ },
  { name: 'devices.count 1e9', scenario: BASE.replace('count: 1,', 'count: 1000000000,'), code: 2, message: /field 'devices\.count': must be at most 100000 devices/ },
  { name: 'mtuBytes 41', scenario: withLink('uplink', '{ type: constant, rateBps: 1000000, mtuBytes: 41 }'), code: 2, message: /field 'uplink\.mtuBytes': must be at least 68 bytes/ },
  { name: 'requests 1e12', scenario: BASE.replace('{ requests: 50 }', '{ requests: 1000000000000 }'), code: 2, message: /field 'duration\.requests': must be at most 1e9/ },
  { name: 'payloadBytes 1e15', scenario: BASE.replace('payloadBytes: 1000', 'payloadBytes: 1e15'), code: 2, message: /field 'pipelines\[0\]\.payloadBytes': must be at most 1000000000/ },
  { name: 'a YAML alias bomb', scenario: `${bomb.join('\n')}\n${BASE}`, code: 2, message: /YAML refused: Excessive alias count/ },
  { name: 'an empirical list of 200k values', scenario: BASE.replace('payloadBytes: 1000', `payloadBytes: [${Array.from({ length: 200000 }, (_, i) => 100 + (i % 900)).join(',')}]`), code: 0, message: /^$/ },
  { name: 'an empirical list of a million and one values', scenario: BASE.replace('payloadBytes: 1000', `payloadBytes: [${new Array(1000001).fill(7).join(',')}]`), code: 2, message: /field 'pipelines\[0\]\.payloadBytes': at most 1000000 samples/ },
  { name: 'a Mbps trace at 1e9 s', files: { 't.mbps': '0 5\n1000000000 5\n' }, scenario: withLink('uplink', '{ type: trace, file: t.mbps, format: mbps }'), code: 2, message: /field 'uplink\.file': .*t\.mbps:2: time 1000000000 s is beyond/ },
  { name: 'a mahimahi timestamp of 1e15', files: { 't.up': '1\n2\n1000000000000000\n' }, scenario: withLink('uplink', '{ type: trace, file: t.up }'), code: 2, message: /t\.up:3: timestamp 1000000000000000 ms is beyond/ },
  { name: 'a Mbps trace rate of 1e308', files: { 't.mbps': '0 1e308\n1 5\n' }, scenario: withLink('uplink', '{ type: trace, file: t.mbps, format: mbps }'), code: 2, message: /t\.mbps:1: rate 1e\+308 Mbit\/s is above/ },
  { name: 'a trace file /dev/zero', scenario: withLink('uplink', '{ type: trace, file: /dev/zero }'), code: 2, message: /field 'uplink\.file': \/dev\/zero: expected a trace file, found a special file/ },
  { name: 'a trace path to /etc/passwd', scenario: withLink('uplink', '{ type: trace, file: ../../../../../../etc/passwd, format: mahimahi }'), code: 2, message: /passwd:1: expected a non-negative integer number of milliseconds, found text that is not a number/ },
  { name: '--out onto a regular file', files: { 'taken': 'x' }, args: ['--out', 'taken'], code: 2, message: /--out taken: is a file, not a folder/ },
  { name: '--out under a regular file', files: { 'taken': 'x' }, args: ['--out', 'taken/sub'], code: 2, message: /--out taken\/sub: .*taken is a file/ },
  { name: '--out ""', args: ['--out', ''], code: 2, message: /--out: expected a folder, got an empty path/ },
  { name: '--seed with no value', args: ['--seed'], code: 2, message: /--seed: expected a value/ },
  { name: 'a negative --max-events', args: ['--max-events', '-5'], code: 2, message: /--max-events: expected a positive number/ },
  { name: 'an overloaded link (valid: a warning)', scenario: withLink('uplink', '{ type: constant, rateBps: 5000, delayMs: 10 }'), code: 0, message: /warning: pipeline 'a': uplink utilisation 8\.\d+/ },
];

function runCli(args: string[], cwd: string): Promise<{ code: number | null; stderr: string; ms: number }> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, [BIN, ...args], { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += String(d); });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30000);
    child.on('exit', (code) => { clearTimeout(timer); resolve({ code, stderr, ms: Date.now() - t0 }); });
  });
}

maybe('malformed and extreme inputs', () => {
  test.each(CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const dir = fs.mkdtempSync(path.join(work, 'case-'));
    for (const [f, text] of Object.entries(c.files ?? {})) fs.writeFileSync(path.join(dir, f), text);
    fs.writeFileSync(path.join(dir, 'scenario.yaml'), c.scenario ?? BASE);
    const r = await runCli(['simulate', '--scenario', './scenario.yaml', ...(c.args ?? ['--out', 'out'])], dir);
    expect(r.ms).toBeLessThan(30000);
    expect([r.code, r.stderr]).toEqual([c.code, expect.stringMatching(c.message)]);
    if (c.code === 2) {
      expect(r.stderr).not.toMatch(/internal error/);
      expect(fs.existsSync(path.join(dir, 'out'))).toBe(false);
      expect(fs.readdirSync(dir).filter((f) => f.startsWith('.'))).toEqual([]); // no temporary folder left
    }
  });

  test('model, profile and measurement inputs', async () => {
    const dir = fs.mkdtempSync(path.join(work, 'model-'));
    // A shard path that leaves the model folder.
    fs.cpSync(path.join(ROOT, 'models', 'teacher'), path.join(dir, 'm'), { recursive: true });
    const mj = path.join(dir, 'm', 'model.json');
    const model = JSON.parse(fs.readFileSync(mj, 'utf8'));
    model.weightsManifest[0].paths = ['../../../../../../../dev/zero'];
    fs.writeFileSync(mj, JSON.stringify(model));
    let r = await runCli(['profile', '--model', 'm/model.json', '--device', 't4'], dir);
    expect([r.code, r.stderr]).toEqual([2, expect.stringMatching(/field 'weightsManifest': shard path '.*dev\/zero' leaves the model folder/)]);
    // A profile whose peak is infinite.
    fs.writeFileSync(path.join(dir, 't4.yaml'), fs.readFileSync(path.join(ROOT, 'profiles', 't4.yaml'), 'utf8').replace(/peakGflops: 8100/, 'peakGflops: .inf'));
    r = await runCli(['profile', '--model', 'resnet18', '--device', './t4.yaml'], dir);
    expect([r.code, r.stderr]).toEqual([2, expect.stringMatching(/t4\.yaml: field 'compute\.fp32\.peakGflops': must be a finite number/)]);
    // More samples than the test set holds.
    r = await runCli(['measure', '--samples', '10000000', '--models', 'student-b1', '--out', 'mo'], dir);
    expect([r.code, r.stderr]).toEqual([2, expect.stringMatching(/--samples 10000000: the dataset .* has 10000 images/)]);
    expect(fs.existsSync(path.join(dir, 'mo'))).toBe(false);
    // A measurements file cut in the middle of a row.
    fs.writeFileSync(path.join(dir, 'cut.csv'), 'model,split\nteacher,inp');
    r = await runCli(['compare', '--in', 'cut.csv', '--out', 'co.csv'], dir);
    expect([r.code, r.stderr]).toEqual([2, expect.stringMatching(/cut\.csv: the file ends in the middle of a row/)]);
    // calibrate never overwrites the shipped profile unasked.
    r = await runCli(['calibrate'], dir);
    expect([r.code, r.stderr]).toEqual([2, expect.stringMatching(/--out: required/)]);
  });

  test('two concurrent runs into one --out, 20 times: every result folder is entirely one run\'s', async () => {
    const dir = fs.mkdtempSync(path.join(work, 'conc-'));
    fs.writeFileSync(path.join(dir, 's.yaml'), BASE);
    for (let k = 0; k < 20; k++) {
      const [a, b] = await Promise.all([
        runCli(['simulate', '--scenario', './s.yaml', '--out', 'o', '--seed', '11', '--requests-csv', '--quiet'], dir),
        runCli(['simulate', '--scenario', './s.yaml', '--out', 'o', '--seed', '22', '--quiet'], dir),
      ]);
      expect([a.code, b.code]).toEqual([0, 0]);
      const run = JSON.parse(fs.readFileSync(path.join(dir, 'o', 'run.json'), 'utf8'));
      const summarySeed = fs.readFileSync(path.join(dir, 'o', 'summary.csv'), 'utf8').split('\n')[1].split(',')[14];
      expect(summarySeed).toBe(String(run.seed));
      // requests.csv only belongs to the seed-11 run.
      expect(fs.existsSync(path.join(dir, 'o', 'requests.csv'))).toBe(run.seed === 11);
    }
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('.'))).toEqual([]);
  }, 240000);
});
