import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { main } from '../../src/cli/index';
import { runCli } from '../helpers/inprocess';
import { loadFashionMnistTest, toModelInput } from '../../src/data/fashion';
import { initBackend, tf } from '../../src/model/backend';
import { latentSymbols } from '../../src/model/layers';
import { splitModel, validSplitPoints } from '../../src/model/split';
import { DEFAULT_ZOO_DIR, listZooModels, loadModelDir, loadZooModel, type ZooModel } from '../../src/model/zoo';
import { UserError } from '../../src/util/errors';

interface Golden {
  n: number;
  indices: number[];
  logits: number[][];
  labels: number[];
  symbols?: { layout: string; shape: number[]; data: number[] };
}

const haveZoo = fs.existsSync(path.join(DEFAULT_ZOO_DIR, 'index.json'));
if (!haveZoo) console.log(`skipping zoo tests: ${DEFAULT_ZOO_DIR}/index.json not found (run npm run train)`);
const maybe = haveZoo ? describe : describe.skip;
const names = haveZoo ? listZooModels() : [];
const set = loadFashionMnistTest();

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

maybe('model zoo', () => {
  const loaded = new Map<string, ZooModel>();
  beforeAll(async () => {
    const backend = await initBackend();
    console.log(`zoo tests run on tfjs backend '${backend}'`);
    for (const n of names) loaded.set(n, await loadZooModel(n));
  });
  afterAll(() => loaded.forEach((m) => m.model.dispose()));

  test('the zoo holds a teacher, at least 4 students and the channel-reduction baseline', () => {
    expect(names[0]).toBe('teacher');
    expect(names.filter((n) => n.startsWith('student-b')).length).toBeGreaterThanOrEqual(4);
    expect(names).toContain('channel-reduction');
    for (const n of names) {
      const m = loaded.get(n)!;
      expect(m.meta.name).toBe(n);
      expect(m.hash).toMatch(/^[0-9a-f]{64}$/);
      expect(m.model.inputs[0].shape).toEqual([null, 28, 28, 1]);
      expect(m.model.outputs[0].shape).toEqual([null, 10]);
    }
    expect(loaded.get('teacher')!.meta.macs).toBeLessThanOrEqual(50e6);
  });

  test.each(names)('%s: tfjs logits match the PyTorch golden logits (<= 1e-3)', (name) => {
    const zm = loaded.get(name)!;
    const golden = JSON.parse(fs.readFileSync(path.join(zm.dir, 'golden.json'), 'utf8')) as Golden;
    expect(golden.indices.length).toBe(32);
    const x = toModelInput(set, golden.indices, zm.meta.input);
    const logits = zm.model.predict(x) as tf.Tensor;
    const got = logits.arraySync() as number[][];
    const want = golden.logits;
    expect(golden.labels).toEqual(golden.indices.map((i) => set.labels[i]));
    if (!golden.symbols) {
      const d = maxAbs(got.flat(), want.flat());
      console.log(`${name}: max |tfjs - pytorch| logits over 32 images = ${d.toExponential(3)}`);
      expect(d).toBeLessThanOrEqual(1e-3);
    } else {
      // Students quantize their latent: a float difference right at a rounding boundary can flip a
      // symbol. Compare symbols, check the images with no flip end to end, and check the tail on
      // PyTorch's own symbols for every image.
      const b = zm.meta.bottleneck!;
      const { head, tail } = splitModel(zm, b.layer);
      const latent = head.predict(x) as tf.Tensor;
      const sym = latentSymbols(latent, b.medians!).dataSync();
      expect(golden.symbols.shape).toEqual([32, ...b.latentShape]);
      const per = b.latentShape.reduce((p, q) => p * q, 1);
      const flipped: number[] = [];
      for (let i = 0; i < 32; i++) {
        for (let j = 0; j < per; j++) {
          if (sym[i * per + j] !== golden.symbols.data[i * per + j]) {
            flipped.push(i);
            break;
          }
        }
      }
      const clean = Array.from({ length: 32 }, (_, i) => i).filter((i) => !flipped.includes(i));
      const d = maxAbs(clean.flatMap((i) => got[i]), clean.flatMap((i) => want[i]));
      const med = tf.tensor1d(b.medians!);
      const fromPt = tf.add(tf.tensor(golden.symbols.data, golden.symbols.shape, 'float32'), med);
      const tailLogits = (tail.predict(fromPt) as tf.Tensor).arraySync() as number[][];
      const dTail = maxAbs(tailLogits.flat(), want.flat());
      console.log(
        `${name}: ${flipped.length} of 32 images with a flipped latent symbol${flipped.length ? ` (images ${flipped.join(',')})` : ''}; ` +
          `max |tfjs - pytorch| logits: ${d.toExponential(3)} end to end on the other images, ${dTail.toExponential(3)} for the tail fed PyTorch's symbols`,
      );
      expect(d).toBeLessThanOrEqual(1e-3);
      expect(dTail).toBeLessThanOrEqual(1e-3);
      // A flip needs a latent value within float32 noise of a .5 boundary: rare, never systematic.
      expect(flipped.length).toBeLessThanOrEqual(1);
      tf.dispose([latent, med, fromPt]);
    }
    tf.dispose([x, logits]);
  });

  test.each(names)('%s: head then tail equals the full model at every split point (<= 1e-4)', (name) => {
    const zm = loaded.get(name)!;
    const idx = Array.from({ length: 32 }, (_, i) => 100 + i);
    const x = toModelInput(set, idx, zm.meta.input);
    const full = (zm.model.predict(x) as tf.Tensor).dataSync();
    expect(zm.meta.splitPoints.length).toBeGreaterThanOrEqual(name === 'teacher' ? 5 : 2);
    const report: string[] = [];
    for (const sp of zm.meta.splitPoints) {
      const { head, tail } = splitModel(zm, sp);
      expect(head.outputs[0].sourceLayer.name).toBe(sp);
      const mid = head.predict(x) as tf.Tensor;
      const out = (tail.predict(mid) as tf.Tensor).dataSync();
      const d = maxAbs(out, full);
      report.push(`${sp} [${mid.shape.slice(1).join('x')}] ${d.toExponential(2)}`);
      expect(d).toBeLessThanOrEqual(1e-4);
      mid.dispose();
    }
    console.log(`${name}: split vs full max abs diff: ${report.join('; ')}`);
    x.dispose();
  });

  test('the teacher split points are exactly where one tensor crosses; block internals are not', () => {
    const zm = loaded.get('teacher')!;
    const valid = validSplitPoints(zm.model);
    for (const sp of zm.meta.splitPoints) expect(valid).toContain(sp);
    // inside a residual block the skip connection also crosses
    expect(valid).not.toContain('stage2_block1_conv1');
    expect(valid).not.toContain('stage2_block1_relu1');
    expect(() => splitModel(zm.model, 'stage2_block1_relu1')).toThrow(/valid split points: .*stage1/);
  });

  test('students record entropy tables consistent with the contract', () => {
    for (const n of names.filter((q) => q.startsWith('student-b'))) {
      const b = loaded.get(n)!.meta.bottleneck!;
      const e = b.entropy!;
      const c = b.latentShape[2];
      expect(b.medians!.length).toBe(c);
      expect(e.minQ.length).toBe(c);
      for (let k = 0; k < c; k++) {
        expect(e.cdfs[k].length).toBe(e.lengths[k] + 1);
        expect(e.pmfs[k].length).toBe(e.lengths[k]);
        expect(e.cdfs[k][0]).toBe(0);
        expect(e.cdfs[k][e.lengths[k]]).toBe(2 ** e.precision);
        for (let i = 1; i <= e.lengths[k]; i++) expect(e.cdfs[k][i]).toBeGreaterThan(e.cdfs[k][i - 1]);
        const mass = e.pmfs[k].reduce((s, p) => s + p, 0);
        expect(Math.abs(mass - 1)).toBeLessThan(1e-3);
      }
      expect(b.estimatedBytesPerImage).toBeGreaterThan(0);
    }
  });
});

maybe('zoo input errors', () => {
  let tmp: string;
  beforeAll(async () => {
    await initBackend();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'splitsim-zoo-'));
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  function copyTeacher(label: string): string {
    const dir = path.join(tmp, label);
    fs.cpSync(path.join(DEFAULT_ZOO_DIR, 'teacher'), dir, { recursive: true });
    return dir;
  }


  test('a missing weight shard names the shard and exits with code 2', async () => {
    const dir = copyTeacher('noshard');
    fs.rmSync(path.join(dir, 'group1-shard1of1.bin'));
    await expect(loadModelDir(dir)).rejects.toThrow(UserError);
    await expect(loadModelDir(dir)).rejects.toThrow(`${path.join(dir, 'group1-shard1of1.bin')}: weight shard listed in`);
    const r = await runCli(['zoo', '--model', dir, '--samples', '2']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('group1-shard1of1.bin: weight shard listed in');
  });

  test('a truncated shard or a corrupt model.json is a user error naming the file', async () => {
    const dir = copyTeacher('short');
    const shard = path.join(dir, 'group1-shard1of1.bin');
    fs.writeFileSync(shard, fs.readFileSync(shard).subarray(0, 1000));
    await expect(loadModelDir(dir)).rejects.toThrow(/hold 1000 bytes/);
    const dir2 = copyTeacher('corrupt');
    const mj = path.join(dir2, 'model.json');
    fs.writeFileSync(mj, fs.readFileSync(mj, 'utf8').slice(0, 500));
    await expect(loadModelDir(dir2)).rejects.toThrow(`${mj}: tfjs model file is not valid JSON`);
    const r = await runCli(['zoo', '--model', dir2, '--samples', '2']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('model.json: tfjs model file is not valid JSON');
  });

  test('an unknown split point or model name lists the valid names and exits with code 2', async () => {
    const r = await runCli(['zoo', '--model', 'teacher', '--split', 'stage9', '--samples', '2']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/teacher: unknown split point 'stage9'; valid split points: stem, stage1, stage2, stage3, pool/);
    const r2 = await runCli(['zoo', '--model', 'no-such-model', '--samples', '2']);
    expect(r2.code).toBe(2);
    expect(r2.err).toMatch(/no zoo model 'no-such-model'.*valid names: teacher, student-b/);
  });

  test('the CLI evaluates a split model and reports the backend', async () => {
    let out = '';
    const spy = jest.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
      out += String(s);
      return true;
    });
    try {
      await main(['zoo', '--model', 'teacher', '--split', 'stage2', '--samples', '64', '--json']);
    } finally {
      spy.mockRestore();
    }
    const r = JSON.parse(out);
    expect(['tensorflow', 'wasm', 'cpu']).toContain(r.backend);
    expect(r.splitPoint).toBe('stage2');
    expect(r.splitOutputShape).toEqual([14, 14, 32]);
    expect(r.maxAbsDiffSplitVsFull).toBeLessThanOrEqual(1e-4);
    expect(r.top1).toBeGreaterThan(0.8);
  });
});
