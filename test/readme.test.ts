import * as fs from 'fs';
import * as path from 'path';
import { parseCsv } from '../src/cli/compare';
import { BIN, cliHarness, ROOT } from './helpers/cli';

/**
 * README's "Bring your own profile, scenario and trace" example, run as written: the files it
 * shows are written to a scratch folder and its command is run there.
 */
const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const { maybe, work, run } = cliHarness('readme', 'src/cli/index.js');

describe('README', () => {
  test('names the two commands', () => {
    expect(readme).toContain('npm ci && npm run simulate -- --scenario lte.yaml');
    expect(readme).toMatch(/^npm test\b/m);
  });
});

maybe('README example', () => {
  test('the bring-your-own example runs as written and picks a best pipeline', () => {
    const files = [...readme.matchAll(/<!-- readme-file: (\S+) -->\s*\n```[a-z]*\n([\s\S]*?)```/g)];
    expect(files.map((f) => f[1])).toEqual(['my-device.yaml', 'my-uplink.trace', 'my-scenario.yaml']);
    for (const [, name, body] of files) fs.writeFileSync(path.join(work, name), body);
    const cmd = /<!-- readme-run -->\s*\n```sh\n([^\n]+)\n```/.exec(readme);
    expect(cmd).not.toBeNull();
    const args = cmd![1].trim().split(/\s+/);
    expect(args.slice(0, 2)).toEqual(['node', 'bin/splitsim.js']);
    expect(BIN.endsWith(path.join('bin', 'splitsim.js'))).toBe(true);
    const r = run(args.slice(2));
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^best: /m);
    const [head, ...rows] = parseCsv(fs.readFileSync(path.join(work, 'results', 'my-scenario', 'summary.csv'), 'utf8'));
    const names = rows.map((x) => x[head.indexOf('pipeline')]);
    for (const n of ['teacher/input/webp[quality=40]', 'teacher/input/webp[quality=80]', 'teacher/stage2/quant[bits=4;granularity=channel;entropy=rans]', 'student-b0.3/bottleneck/factorized', 'teacher/device-only']) expect(names).toContain(n);
    expect(rows.every((x) => x[head.indexOf('device_profile')] === 'my-device')).toBe(true);
    const run0 = JSON.parse(fs.readFileSync(path.join(work, 'results', 'my-scenario', 'run.json'), 'utf8'));
    expect(run0.decision.objective).toBe('energy');
  });
});
