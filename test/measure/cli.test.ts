import { spawnSync } from 'child_process';
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
    const total = 1 + 22 + 2 * 34 + 1 + 4; // device-only, input sweep, naive splits, student, channel reduction
    expect(two.stdout).toContain(`(${total} run, 0 from cache)`);
    expect(two.stdout).toContain('with 2 worker(s)');
    const a = table(path.join(work, 'one', 'measurements.csv'));
    const b = table(path.join(work, 'two', 'measurements.csv'));
    expect(b.length).toBe(a.length);
    // No clock reading reaches the files: one and two workers write the same bytes.
    expect(fs.readFileSync(path.join(work, 'two', 'measurements.csv'), 'utf8')).toBe(fs.readFileSync(path.join(work, 'one', 'measurements.csv'), 'utf8'));
    expect(fs.readFileSync(path.join(work, 'two', 'measurements.json'), 'utf8')).toBe(fs.readFileSync(path.join(work, 'one', 'measurements.json'), 'utf8'));
    const again = cli(['measure', '--zoo', zoo, '--samples', '30', '--seed', '3', '--out', 'two'], path.join(work, 'c2'));
    expect(again.stdout).toContain(`(0 run, ${total} from cache)`);
    const cmp = cli(['compare', '--in', path.join('two', 'measurements.csv'), '--out', 'two'], path.join(work, 'c2'));
    expect(cmp.code).toBe(0);
    expect(cmp.stdout).toMatch(/Pareto front/);
    const ranked = table(path.join(work, 'two', 'compare.csv'));
    expect(ranked.length).toBe(a.length - 1); // device-only sends nothing: not a codec to rank
    expect(ranked.some((r) => r.pareto === '1')).toBe(true);
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
