import * as fs from 'fs';
import * as path from 'path';
import { cliHarness } from '../helpers/cli';
import { NOISY, TWO_PIPELINES, writeScenario } from './scenarios';

/** `splitsim sweep` and `splitsim report` through the compiled CLI (worker processes need dist/). */
const { maybe, work, run } = cliHarness('sweep', 'src/sweep/worker.js');

maybe('splitsim sweep', () => {
  test('same seed: identical sweep.csv (and sweep.json, report) with 1 and with 2 worker processes; another seed differs', () => {
    const f = writeScenario(work, 'noisy.yaml', NOISY);
    const args = ['sweep', '--scenario', f, '--vary', 'uplink.rateBps=2e5..2e7', '--steps', '6', '--log'];
    const one = run([...args, '--workers', '1', '--out', 'w1']);
    const two = run([...args, '--workers', '2', '--out', 'w2']);
    expect(one.stderr).toMatch(/\(1 process\(es\)\)/);
    expect(two.stderr).toMatch(/\(2 process\(es\)\)/);
    expect([one.code, two.code]).toEqual([0, 0]);
    for (const file of ['sweep.csv', 'sweep.json', 'report.html', 'plots/sweep-latency.svg']) {
      expect([file, fs.readFileSync(path.join(work, 'w1', file)).equals(fs.readFileSync(path.join(work, 'w2', file)))]).toEqual([file, true]);
    }
    const csv = fs.readFileSync(path.join(work, 'w2', 'sweep.csv'), 'utf8').trim().split('\n');
    expect(csv[0].startsWith('point,uplink.rateBps,scenario,rank,pipeline,')).toBe(true);
    expect(csv).toHaveLength(1 + 6 * 3);
    expect(one.stdout).toMatch(/latency, offloading only: /);
    const other = run([...args, '--seed', '12', '--out', 'w3']);
    expect(other.code).toBe(0);
    expect(fs.readFileSync(path.join(work, 'w3', 'sweep.csv')).equals(fs.readFileSync(path.join(work, 'w2', 'sweep.csv')))).toBe(false);
  });

  test('splitsim report DIR rebuilds the same report and plots from the CSV and JSON files', () => {
    const f = writeScenario(work, 'two.yaml', TWO_PIPELINES);
    const r = run(['sweep', '--scenario', f, '--vary', 'uplink.rateBps=1e5..1e7', '--steps', '5', '--log', '--out', 'rb']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/crossover at \d{3} kbit\/s \(between steps 2 and 3: 316 kbit\/s\.\.1 Mbit\/s\): small -> big, where their objectives cross/);
    const dir = path.join(work, 'rb');
    const before = fs.readFileSync(path.join(dir, 'report.html'));
    fs.rmSync(path.join(dir, 'report.html'));
    fs.rmSync(path.join(dir, 'plots'), { recursive: true });
    const rep = run(['report', dir]);
    expect(rep.stderr).toBe('');
    expect(rep.code).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'report.html')).equals(before)).toBe(true);
    for (const p of ['latency-breakdown', 'sweep-latency']) {
      expect(fs.existsSync(path.join(dir, 'plots', `${p}.svg`))).toBe(true);
      expect(JSON.parse(fs.readFileSync(path.join(dir, 'plots', `${p}.vl.json`), 'utf8')).$schema).toMatch(/vega-lite\/v5/);
    }
    // Without a top-1 (declared, none stated) or a device profile (energy) those plots are left out.
    for (const p of ['rate-accuracy', 'energy-breakdown', 'sweep-energy']) expect(fs.existsSync(path.join(dir, 'plots', `${p}.svg`))).toBe(false);
    // A folder without results is bad input.
    const bad = run(['report', path.join(work, 'nothing-here')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/not a folder/);
  });

  test('simulate writes the report and the plots too', () => {
    const f = writeScenario(work, 'noisy-sim.yaml', NOISY);
    const r = run(['simulate', '--scenario', f, '--out', 'sim']);
    expect(r.code).toBe(0);
    const html = fs.readFileSync(path.join(work, 'sim', 'report.html'), 'utf8');
    expect(html).toContain('<table id="ranked">');
    expect(html).not.toContain('id="regimes"');
    expect(fs.existsSync(path.join(work, 'sim', 'plots', 'latency-breakdown.svg'))).toBe(true);
  });

  const BAD: Array<[string, string[], RegExp]> = [
    ['unknown field', ['--vary', 'uplink.rateBsp=1..2', '--steps', '3'], /--vary uplink\.rateBsp: no such field in this scenario; numeric fields of this scenario: .*devices\.count, .*uplink\.delayMs, .*uplink\.rateBps, .*edge\.workers, .*deadlineMs/],
    ['non-numeric field', ['--vary', 'uplink.type=1,2'], /--vary uplink\.type: not a numeric field .*numeric fields of this scenario: .*uplink\.delayMs/],
    ['a profile name', ['--vary', 'devices.profile=1,2'], /--vary devices\.profile: not numeric; vary profiles with --device a,b,c; numeric fields/],
    ['LO > HI', ['--vary', 'uplink.rateBps=1e7..1e5', '--steps', '4'], /--vary uplink\.rateBps=1e7\.\.1e5: LO \(10000000\) must be below HI \(100000\)/],
    ['steps < 2', ['--vary', 'uplink.rateBps=1e5..1e7', '--steps', '1'], /--steps: expected an integer from 2 to 1000 \(values from LO to HI of uplink\.rateBps\), got 1/],
    ['a range without steps', ['--vary', 'uplink.rateBps=1e5..1e7'], /a range needs --steps N/],
    ['a value outside the field', ['--vary', 'devices.count=0,2'], /sweep point devices\.count=0: .*noisy-bad\.yaml: field 'devices\.count': Number must be greater than 0/],
    ['a log range from 0', ['--vary', 'uplink.delayMs=0..10', '--steps', '3', '--log'], /--log needs LO above 0/],
    ['a value outside the field\'s range', ['--vary', 'uplink.states.1.meanSojournMs=-5,5'], /--vary uplink\.states\.1\.meanSojournMs: -5 is outside the field's range/],
    ['a value the scenario refuses', ['--vary', 'uplink.headerBytes=20,1600'], /sweep point uplink\.headerBytes=1600: .*field 'uplink\.headerBytes': must be smaller than mtuBytes/],
    ['a field not in this variant', ['--vary', 'uplink.loss.p=0.1,0.2'], /--vary uplink\.loss\.p: no such field in this scenario/],
    ['three axes', ['--vary', 'uplink.delayMs=1,2', '--vary', 'devices.count=1,2', '--edge', 't4,a100'], /at most two axes/],
    ['nothing varied', [], /name what to vary/],
    ['a flag and a field setting the same thing', ['--vary', 'deadlineMs=100,200', '--deadline-ms', '50'], /--deadline-ms and --vary deadlineMs both set deadlineMs/],
    ['a point over the request budget', ['--vary', 'uplink.delayMs=1,2', '--max-requests', '100'], /sweep point uplink\.delayMs=1: .*'duration\.requests': about 6\.00e\+2 requests per pipeline, more than the 1\.0e\+2/],
    ['an unknown profile', ['--device', 'raspberry-pi-4,no-such-board', '--vary', 'uplink.delayMs=1,2'], /no-such-board/],
  ];
  test.each(BAD)('bad input (%s): exit 2, a message naming the field and the choices, nothing written', (_what, extra, message) => {
    const f = writeScenario(work, 'noisy-bad.yaml', NOISY);
    const out = path.join(work, `bad-${_what.replace(/\W+/g, '-')}`);
    const r = run(['sweep', '--scenario', f, ...extra, '--out', out]);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/internal error/);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(fs.existsSync(out)).toBe(false);
  });

  test('a trace uplink has no rateBps to vary: refused naming the trace', () => {
    const trace = path.join(work, 'up.trace');
    fs.writeFileSync(trace, '4\n8\n12\n16\n');
    const f = writeScenario(work, 'traced.yaml', NOISY.replace(/uplink:\n  type: markov\n  states: .*\n/, `uplink:\n  type: trace\n  file: up.trace\n`));
    const r = run(['sweep', '--scenario', f, '--vary', 'uplink.rateBps=1e5,1e6', '--out', path.join(work, 'bad-trace')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--vary uplink\.rateBps: the uplink is a trace link, whose rate comes from .*up\.trace/);
    expect(fs.existsSync(path.join(work, 'bad-trace'))).toBe(false);
  });
});
