/**
 * The SC2 benchmark's other methods in the zoo (training/export_methods.py): neural input
 * codecs, End-to-End models and hyperprior students. Their kinds and tables, what `all` and
 * the sweeps make of them, and what happens to a model folder whose tables are missing or do
 * not cover its scales (exit code 2, naming meta.json and the field).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runCli } from '../helpers/inprocess';
import { modelInfo, candidates } from '../../src/pipelines/candidates';
import { pipelineName } from '../../src/pipelines/ref';
import { initBackend } from '../../src/model/backend';
import { DEFAULT_ZOO_DIR, listZooModels, readZooMeta } from '../../src/model/zoo';
import { resolveZooModel } from '../../src/model/meta';

const zoo = process.env.SPLITSIM_TEST_ZOO ?? DEFAULT_ZOO_DIR;
const names = fs.existsSync(path.join(zoo, 'index.json')) ? listZooModels(zoo) : [];
const byKind = (k: string) => names.filter((n) => readZooMeta(path.join(zoo, n)).kind === k);
const haveMethods = byKind('input-codec').length > 0;
if (!haveMethods) console.log('skipping the SC2-methods zoo tests: no input-codec model in the zoo (training/train_methods.sh)');
const maybe = haveMethods ? describe : describe.skip;

maybe('SC2 methods in the zoo', () => {
  let tmp: string;
  beforeAll(async () => {
    await initBackend();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'splitsim-methods-'));
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  test('>= 4 neural input codecs of each prior, >= 4 End-to-End models, >= 3 hyperprior students; each with its codec at its bottleneck', () => {
    const nic = byKind('input-codec').map((n) => ({ n, meta: readZooMeta(path.join(zoo, n)) }));
    expect(nic.filter((m) => m.meta.bottleneck?.entropy && !m.meta.bottleneck.hyperprior).length).toBeGreaterThanOrEqual(4);
    expect(nic.filter((m) => m.meta.bottleneck?.hyperprior).length).toBeGreaterThanOrEqual(4);
    expect(byKind('end-to-end').length).toBeGreaterThanOrEqual(4);
    expect(byKind('hyperprior-student').length).toBeGreaterThanOrEqual(3);
    for (const n of [...byKind('input-codec'), ...byKind('end-to-end'), ...byKind('hyperprior-student')]) {
      const e = resolveZooModel(n, zoo);
      const c = candidates(modelInfo(e)).map(pipelineName);
      const codec = e.meta.bottleneck!.hyperprior ? 'hyperprior' : 'factorized';
      expect(c).toEqual([`${n}/bottleneck/${codec}`]);
      const kind = candidates(modelInfo(e))[0].kind;
      expect(kind).toBe({ 'input-codec': 'neural-input', 'end-to-end': 'end-to-end', 'hyperprior-student': 'hyperprior-student' }[e.meta.kind]);
    }
  });

  test('an input codec is its analysis on the device, its synthesis and the whole teacher on the server', async () => {
    const n = byKind('input-codec')[0];
    const meta = readZooMeta(path.join(zoo, n));
    const teacher = readZooMeta(path.join(zoo, 'teacher'));
    expect(meta.splitPoints).toEqual(['bottleneck', 'decoded']);
    expect(meta.macs).toBeGreaterThan(teacher.macs);
    const mj = JSON.parse(fs.readFileSync(path.join(zoo, n, 'model.json'), 'utf8'));
    const layers = mj.modelTopology.config.layers.map((l: { name: string }) => l.name);
    // the teacher's layers follow the decoded, renormalised image
    expect(layers.indexOf('normalise')).toBeLessThan(layers.indexOf('stem_conv'));
    expect(layers).toContain('fc');
  });

  function copyModel(n: string, label: string): string {
    const dir = path.join(tmp, label, n);
    fs.cpSync(path.join(zoo, n), dir, { recursive: true });
    return dir;
  }

  function editMeta(dir: string, f: (m: Record<string, any>) => void): string {
    const file = path.join(dir, 'meta.json');
    const m = JSON.parse(fs.readFileSync(file, 'utf8'));
    f(m);
    fs.writeFileSync(file, JSON.stringify(m));
    return file;
  }

  test('a model whose factorized tables are missing exits with code 2, naming meta.json and the field', async () => {
    for (const n of [byKind('end-to-end')[0], byKind('input-codec').find((x) => !readZooMeta(path.join(zoo, x)).bottleneck?.hyperprior)!, 'student-b1']) {
      const dir = copyModel(n, 'no-tables');
      const file = editMeta(dir, (m) => { delete m.bottleneck.entropy; });
      const r = await runCli(['zoo', '--model', dir, '--samples', '2']);
      expect(r.code).toBe(2);
      expect(r.err).toContain(file);
      expect(r.err).toMatch(/bottleneck\.entropy.*needs its entropy tables/);
      const p = await runCli(['pipelines', '--model', dir]);
      expect(p.code).toBe(2);
      expect(p.err).toContain(file);
    }
  });

  test('a hyperprior model whose scale table does not cover its scales, or lacks its Gaussian tables, exits with code 2 naming meta.json', async () => {
    const n = byKind('hyperprior-student')[0];
    const short = copyModel(n, 'short-table');
    const file = editMeta(short, (m) => {
      const h = m.bottleneck.hyperprior;
      const keep = h.scaleTable.findIndex((s: number) => s >= h.scaleRange[1]) - 1;
      h.scaleTable = h.scaleTable.slice(0, keep);
      h.gaussian.centers = h.gaussian.centers.slice(0, keep);
      h.gaussian.cdfs = h.gaussian.cdfs.slice(0, keep);
    });
    const r = await runCli(['zoo', '--model', short, '--samples', '2']);
    expect(r.code).toBe(2);
    expect(r.err).toContain(file);
    expect(r.err).toMatch(/bottleneck\.hyperprior\.scaleTable.*does not cover its scales/);
    const gone = copyModel(byKind('input-codec').find((x) => readZooMeta(path.join(zoo, x)).bottleneck?.hyperprior)!, 'no-gaussian');
    const file2 = editMeta(gone, (m) => { delete m.bottleneck.hyperprior.gaussian; });
    const r2 = await runCli(['zoo', '--model', gone, '--samples', '2']);
    expect(r2.code).toBe(2);
    expect(r2.err).toContain(file2);
    expect(r2.err).toMatch(/gaussian/);
    const none = copyModel(n, 'no-hyperprior');
    const file3 = editMeta(none, (m) => { delete m.bottleneck.hyperprior; });
    const r3 = await runCli(['zoo', '--model', none, '--samples', '2']);
    expect(r3.code).toBe(2);
    expect(r3.err).toContain(file3);
    expect(r3.err).toMatch(/needs its hyperprior/);
  });
});
