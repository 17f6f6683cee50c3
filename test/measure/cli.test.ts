import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseCsv } from '../../src/cli/compare';
import { buildFixtureZoo } from './fixture';

/**
 * The real command line on the fixture zoo, through the compiled build: two worker processes
 * must give exactly the results of one (per-sample merging), a repeat is served from the
 * cache, and compare reads what measure wrote. Needs dist/ (`npm test` builds it).
 */
const ROOT = path.resolve(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'splitsim.js');
const built = fs.existsSync(path.join(ROOT, 'dist', 'src', 'measure', 'worker.js'));
if (!built) console.log('skipping measure CLI tests: dist/ is missing; run `npm run build` (npm test does)');
const maybe = built ? describe : describe.skip;

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'splitsim-measure-cli-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

function cli(args: string[], cacheDir: string) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: work, encoding: 'utf8', env: { ...process.env, SPLITSIM_CACHE_DIR: cacheDir },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function table(file: string): Array<Record<string, string>> {
  const [header, ...rows] = parseCsv(fs.readFileSync(file, 'utf8'));
  return rows.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]])));
}

maybe('splitsim measure / compare (compiled)', () => {
  const zoo = path.join(work, 'models');
  beforeAll(async () => {
    await buildFixtureZoo(zoo);
  });

  test('two workers give the same per-pipeline results as one; the repeat is cached', () => {
    const one = cli(['measure', '--zoo', zoo, '--samples', '30', '--seed', '3', '--workers', '1', '--out', 'one'], path.join(work, 'c1'));
    expect(one.stderr).toBe('');
    expect(one.code).toBe(0);
    const two = cli(['measure', '--zoo', zoo, '--samples', '30', '--seed', '3', '--workers', '2', '--out', 'two'], path.join(work, 'c2'));
    expect(two.code).toBe(0);
    const total = 1 + 22 + 2 * 44 + 1 + 4; // device-only, input sweep, naive splits, student, channel reduction
    expect(two.stdout).toContain(`(${total} run, 0 from cache; ${total * 30} pipeline-samples run now)`);
    expect(two.stdout).toContain('with 2 worker(s)');
    const a = table(path.join(work, 'one', 'measurements.csv'));
    const b = table(path.join(work, 'two', 'measurements.csv'));
    expect(b.length).toBe(a.length);
    // No clock reading reaches the files: one and two workers write the same bytes.
    expect(fs.readFileSync(path.join(work, 'two', 'measurements.csv'), 'utf8')).toBe(fs.readFileSync(path.join(work, 'one', 'measurements.csv'), 'utf8'));
    expect(fs.readFileSync(path.join(work, 'two', 'measurements.json'), 'utf8')).toBe(fs.readFileSync(path.join(work, 'one', 'measurements.json'), 'utf8'));
    const again = cli(['measure', '--zoo', zoo, '--samples', '30', '--seed', '3', '--out', 'two'], path.join(work, 'c2'));
    expect(again.stdout).toContain(`(0 run, ${total} from cache; 0 pipeline-samples run now)`);
    const cmp = cli(['compare', '--in', path.join('two', 'measurements.csv'), '--out', 'two'], path.join(work, 'c2'));
    expect(cmp.code).toBe(0);
    expect(cmp.stdout).toMatch(/Pareto front/);
    const ranked = table(path.join(work, 'two', 'compare.csv'));
    expect(ranked.length).toBe(a.length - 1); // device-only sends nothing: not a codec to rank
    expect(ranked.some((r) => r.pareto === '1')).toBe(true);
  });

  test('a measurement killed half way resumes with the rest only, same files; no worker outlives it', async () => {
    const cache = path.join(work, `c-kill-${process.pid}`);
    const args = ['measure', '--zoo', zoo, '--samples', '4000', '--seed', '4', '--workers', '2', '--models', 'channel-reduction'];
    // The uninterrupted reference run.
    const full = cli([...args, '--out', 'kfull'], path.join(work, 'c-kill-ref'));
    expect(full.code).toBe(0);
    const m = /; (\d+) pipeline-samples run now/.exec(full.stdout);
    const totalRuns = Number(m![1]);
    // Kill the same run once about half its blocks are stored.
    const child = spawn(process.execPath, [BIN, ...args, '--out', 'kpart'], { cwd: work, env: { ...process.env, SPLITSIM_CACHE_DIR: cache }, stdio: 'ignore' });
    const blocksNow = () => (fs.existsSync(cache) ? fs.readdirSync(cache).length : 0);
    const allBlocks = 20 * (totalRuns / 4000); // 4000 samples = 20 blocks of 200 per pipeline
    let exited = false;
    child.once('exit', () => { exited = true; });
    while (blocksNow() < allBlocks / 2 && !exited) await new Promise((r) => setTimeout(r, 20));
    expect(exited).toBe(false); // still running half way: the kill lands mid-measurement
    child.kill('SIGKILL');
    if (!exited) await new Promise((r) => child.once('exit', r));
    const killedAt = Date.now();
    // Its workers (they carry its cache folder in their environment) leave within 2 s.
    const workersAlive = () => fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
      try { return fs.readFileSync(`/proc/${p}/environ`, 'utf8').includes(`SPLITSIM_CACHE_DIR=${cache}\0`); } catch { return false; }
    });
    while (workersAlive().length > 0 && Date.now() - killedAt < 2000) await new Promise((r) => setTimeout(r, 50));
    expect(workersAlive()).toEqual([]);
    const again = cli([...args, '--out', 'kpart'], cache);
    expect(again.code).toBe(0);
    const done = Number(/; (\d+) pipeline-samples run now/.exec(again.stdout)![1]);
    expect(done).toBeLessThanOrEqual(totalRuns / 2 + totalRuns / 10); // the rest, give or take the blocks in flight
    expect(done).toBeGreaterThan(0);
    for (const f of ['measurements.csv', 'measurements.json']) {
      expect(fs.readFileSync(path.join(work, 'kpart', f), 'utf8')).toBe(fs.readFileSync(path.join(work, 'kfull', f), 'utf8'));
    }
  });

  test('bad input exits 2 with a message naming the problem', () => {
    const r = cli(['measure', '--zoo', zoo, '--models', 'teacher,nope', '--samples', '5'], path.join(work, 'c3'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--models: 'nope' is not in .*index.json/);
    const c = cli(['compare', '--in', path.join(work, 'missing.csv')], path.join(work, 'c3'));
    expect(c.code).toBe(2);
    expect(c.stderr).toMatch(/measurements not found/);
  });
});
