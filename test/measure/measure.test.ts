import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runCompare } from '../../src/cli/compare';
import { runMeasure } from '../../src/cli/measure';
import { MEASUREMENT_COLUMNS, wilsonHalfWidth95 } from '../../src/measure/aggregate';
import { measurePipelines, measureZoo, selectSamples, type MeasureResult } from '../../src/measure/measure';
import { CODECS, parseCodecName, sweepSpecs } from '../../src/codecs/registry';
import { makeRef, pipelineName } from '../../src/pipelines/ref';
import { loadFashionMnistTest } from '../../src/data/fashion';
import { loadZooRunner } from '../../src/measure/zooRunner';
import { UserError } from '../../src/util/errors';
import { buildFixtureZoo } from './fixture';

/**
 * The measurement machinery end to end on a miniature zoo (test/measure/fixture.ts) and 24
 * real Fashion-MNIST test images: real bitstreams, shared heads/tails, the cache, the
 * per-sample byte lists for the simulator, and the measure/compare commands.
 */
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'splitsim-measure-'));
const zooDir = path.join(work, 'models');
const cacheDir = path.join(work, 'cache');
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

const base = { zooDir, cacheDir, samples: 24, seed: 5, workers: 1, progress: false };
let first: MeasureResult;

function byName(r: MeasureResult, name: string) {
  const p = r.pipelines.find((x) => x.name === name);
  if (!p) throw new Error(`no pipeline ${name}; have ${r.pipelines.slice(0, 5).map((x) => x.name).join(', ')} ...`);
  return p;
}

beforeAll(async () => {
  await buildFixtureZoo(zooDir);
  first = await measureZoo(base);
}, 300000);

describe('sample selection', () => {
  test('a fixed seeded subset: sorted, distinct, reproducible, seed-dependent', () => {
    const a = selectSamples(10000, 50, 3);
    expect(a).toEqual(selectSamples(10000, 50, 3));
    expect(new Set(a).size).toBe(50);
    expect([...a].sort((x, y) => x - y)).toEqual(a);
    expect(a.every((i) => i >= 0 && i < 10000)).toBe(true);
    expect(selectSamples(10000, 50, 4)).not.toEqual(a);
    expect(selectSamples(100, undefined, 1)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(() => selectSamples(100, 0, 1)).toThrow(UserError);
  });
});

describe('measureZoo on the fixture zoo', () => {
  test('measures every candidate: device-only, the input codecs, 2 x 44 naive splits, the student, 4 channel-reduction stages', () => {
    // naive: float32, float16, and {8,6,4,2} bits x {tensor, channel} x {packed, deflate, brotli, rans}; codec feature compression
    const sweep = (kind: string, generic: boolean) => CODECS.filter((e) => e.kind === kind && (generic ? !e.needs : true)).reduce((n, e) => n + sweepSpecs(e).length, 0);
    expect(sweep('feature', true)).toBe(2 + 4 * 2 * 4 + 2 * 5); // + tiled JPEG and WebP at 5 qualities
    expect(sweep('input', false)).toBe(22);
    expect(first.pipelines.length).toBe(1 + 22 + 2 * 44 + 1 + 4);
    expect(first.timing.measured).toBe(first.pipelines.length);
    expect(first.indices).toEqual(selectSamples(10000, 24, 5));
    for (const p of first.pipelines) {
      expect(p.results.bytes.length).toBe(24);
      expect(p.row.samples).toBe(24);
      expect(p.row.accuracy).toBeGreaterThanOrEqual(0);
      expect(p.row.accuracy).toBeLessThanOrEqual(1);
      if (p.ref.kind !== 'device-only') expect(p.results.bytes.every((b) => b > 0)).toBe(true);
    }
  });

  test('payload sizes follow the formats exactly', () => {
    expect(Array.from(byName(first, 'teacher/input/raw').results.bytes)).toEqual(new Array(24).fill(784));
    // stem output is 28x28x4: shape header 1 + 1 + 1 + 1 bytes.
    expect(byName(first, 'teacher/stem/float32').results.bytes[0]).toBe(4 + 3136 * 4);
    expect(byName(first, 'teacher/stem/float16').results.bytes[0]).toBe(4 + 3136 * 2);
    expect(byName(first, 'teacher/stem/quant[bits=2;granularity=tensor;entropy=packed]').results.bytes[0]).toBe(4 + 8 + 784);
    expect(byName(first, 'teacher/stage1/quant[bits=6;granularity=channel;entropy=packed]').results.bytes[0]).toBe(4 + 8 * 8 + (14 * 14 * 8 * 6) / 8);
    expect(byName(first, 'channel-reduction/reduce/fixedquant[entropy=packed]').results.bytes[0]).toBe(7 * 7 * 2);
  });

  test('lossless paths give the whole model\'s answers: lossless images and float32 split tensors', () => {
    const raw = byName(first, 'teacher/input/raw').results.correct;
    for (const name of ['teacher/device-only', 'teacher/input/png', 'teacher/input/webp-lossless', 'teacher/stem/float32', 'teacher/stage1/float32']) {
      expect(Array.from(byName(first, name).results.correct)).toEqual(Array.from(raw));
    }
    // Lossless stages after the same quantiser reconstruct identically, hence answer identically.
    const q = (e: string) => byName(first, `teacher/stem/quant[bits=4;granularity=channel;entropy=${e}]`).results;
    for (const e of ['deflate', 'brotli', 'rans']) expect(Array.from(q(e).correct)).toEqual(Array.from(q('packed').correct));
    expect(q('rans').bytes.every((b, i) => b < q('packed').bytes[i])).toBe(true);
  });

  test('the student is coded within 2% + 4 bytes of its prior\'s estimate, per sample', () => {
    const s = byName(first, 'student-b1/latent/factorized');
    const est = s.results.estimatedBytes!;
    expect(est).toBeDefined();
    for (let i = 0; i < 24; i++) expect(Math.abs(s.results.bytes[i] - est[i])).toBeLessThanOrEqual(0.02 * est[i] + 4);
    expect(s.row.bytes_estimated_mean).toBeCloseTo(est.reduce((a, b) => a + b, 0) / 24, 9);
    expect(Number.isNaN(byName(first, 'teacher/stem/float32').row.bytes_estimated_mean)).toBe(true);
  });

  test('aggregates: accuracy, Wilson interval, byte quantiles', () => {
    const p = byName(first, 'teacher/input/jpeg[quality=50]');
    const correct = p.results.correct.reduce((a, b) => a + b, 0);
    expect(p.row.accuracy).toBeCloseTo(correct / 24, 12);
    expect(p.row.accuracy_ci95).toBeCloseTo(wilsonHalfWidth95(correct, 24), 12);
    const sorted = Array.from(p.results.bytes).sort((a, b) => a - b);
    expect(p.row.bytes_min).toBe(sorted[0]);
    expect(p.row.bytes_max).toBe(sorted[23]);
    expect(p.row.bytes_p50).toBeCloseTo((sorted[11] + sorted[12]) / 2, 9);
    // Codec times in the row are the calibrated cost model at the measured bytes, not a clock.
    expect(p.row.encode_ms_host).toBeGreaterThan(0);
    expect(p.row.decode_ms_host).toBeGreaterThan(0);
  });

  test('a repeat run is served from the cache with identical results', async () => {
    const again = await measureZoo(base);
    expect(again.timing.measured).toBe(0);
    expect(again.timing.cached).toBe(first.pipelines.length);
    for (const p of again.pipelines) {
      const q = byName(first, p.name);
      expect(Array.from(p.results.bytes)).toEqual(Array.from(q.results.bytes));
      expect(Array.from(p.results.correct)).toEqual(Array.from(q.results.correct));
      expect(p.row).toEqual(q.row);
    }
  });

  test('changing a model file changes its cache key (only that model is re-measured)', async () => {
    const metaFile = path.join(zooDir, 'channel-reduction', 'meta.json');
    const meta = JSON.parse(fs.readFileSync(metaFile, 'utf8'));
    meta.bottleneck.scale = [0.04, 0.03];
    fs.writeFileSync(metaFile, JSON.stringify(meta));
    const r = await measureZoo(base);
    expect(r.timing.measured).toBe(4);
    expect(byName(r, 'channel-reduction/reduce/fixedquant[entropy=packed]').results.bytes[0]).toBe(98);
  });

  test('any valid setting is measured on demand, not only the sweeps', async () => {
    const c = parseCodecName('quant[bits=3;entropy=deflate]');
    if (!c.ok) throw new Error(c.error);
    const ref = makeRef('teacher', 'stage1', c.spec);
    expect(pipelineName(ref)).toBe('teacher/stage1/quant[bits=3;granularity=channel;entropy=deflate]');
    const r = await measurePipelines([ref], base);
    expect(r.timing.measured).toBe(1);
    const bits8 = byName(first, 'teacher/stage1/quant[bits=8;granularity=channel;entropy=deflate]').results.bytes;
    expect(r.pipelines[0].results.bytes[0]).toBeLessThan(bits8[0]);
    expect((await measurePipelines([ref], base)).timing.cached).toBe(1);
  });

  test('a corrupted, truncated or misplaced cache entry is reported and measured again, never used', async () => {
    const c = parseCodecName('quant[bits=5;granularity=tensor;entropy=packed]');
    if (!c.ok) throw new Error(c.error);
    const ref = makeRef('teacher', 'stem', c.spec);
    const good = await measurePipelines([ref], base);
    const files = () => fs.readdirSync(cacheDir).map((f) => path.join(cacheDir, f));
    const entry = files().find((f) => fs.readFileSync(f, 'utf8').includes('"bits":5'))!;
    const original = fs.readFileSync(entry, 'utf8');
    const other = files().find((f) => f !== entry)!;
    const errs: string[] = [];
    const spy = jest.spyOn(process.stderr, 'write').mockImplementation((m) => { errs.push(String(m)); return true; });
    try {
      const body = JSON.parse(original);
      const flipped = Buffer.from(body.correct, 'base64');
      flipped[0] ^= 1;
      const cases = [
        JSON.stringify({ ...body, correct: flipped.toString('base64') }), // flipped bit, checksum stale
        original.slice(0, original.length - 20), // truncated
        fs.readFileSync(other, 'utf8'), // another pipeline's entry under this key
      ];
      for (const text of cases) {
        fs.writeFileSync(entry, text);
        const again = await measurePipelines([ref], base);
        expect(again.timing.measured).toBe(1);
        expect(Array.from(again.pipelines[0].results.correct)).toEqual(Array.from(good.pipelines[0].results.correct));
        // Rewritten whole (its clock readings differ, its results do not).
        const back = JSON.parse(fs.readFileSync(entry, 'utf8'));
        expect([back.key, back.bytes, back.correct]).toEqual([body.key, body.bytes, body.correct]);
      }
    } finally {
      spy.mockRestore();
    }
    expect(errs.filter((e) => /warning: ignoring cache entry/.test(e)).length).toBe(3);
    expect(errs.join('')).toMatch(/checksum mismatch/);
  });

  test('the one-pass multi-split head gives exactly the per-split heads', async () => {
    const runner = await loadZooRunner('teacher', zooDir);
    const data = loadFashionMnistTest();
    const imgs = data.images.subarray(0, 7 * 784);
    const both = await runner.heads!(['stem', 'stage1'], imgs, 7);
    for (const split of ['stem', 'stage1']) {
      const one = await runner.head(split, imgs, 7);
      expect(both.get(split)!.shape).toEqual(one.shape);
      expect(Buffer.from(both.get(split)!.values.buffer).equals(Buffer.from(one.values.buffer))).toBe(true);
    }
  });

  test('bad input: unknown model, missing zoo', async () => {
    await expect(measureZoo({ ...base, models: ['nope'] })).rejects.toThrow(/'nope' is not in .*index.json/);
    await expect(measureZoo({ ...base, zooDir: path.join(work, 'missing') })).rejects.toThrow(UserError);
  });
});

describe('measure and compare commands', () => {
  test('measurements.csv has the documented columns; compare marks a consistent Pareto front', async () => {
    const out = path.join(work, 'results');
    process.env.SPLITSIM_CACHE_DIR = cacheDir;
    try {
      await runMeasure({ zoo: zooDir, samples: 24, seed: 5, out: path.join(out, 'measure'), workers: 1, progress: false });
    } finally {
      delete process.env.SPLITSIM_CACHE_DIR;
    }
    const csv = fs.readFileSync(path.join(out, 'measure', 'measurements.csv'), 'utf8').trim().split('\n');
    expect(csv[0].split(',')).toEqual([...MEASUREMENT_COLUMNS]);
    expect(csv.length).toBe(1 + first.pipelines.length);
    const { rows, file } = await runCompare({ in: path.join(out, 'measure', 'measurements.csv'), out });
    expect(file).toBe(path.join(out, 'compare.csv'));
    expect(fs.readFileSync(file, 'utf8').split('\n')[0]).toContain('pareto');
    for (const r of rows) {
      const dominated = rows.some((o) => o !== r && o.bytes_mean <= r.bytes_mean && o.accuracy >= r.accuracy && (o.bytes_mean < r.bytes_mean || o.accuracy > r.accuracy));
      if (r.pareto) expect(dominated).toBe(false);
    }
    expect(rows.map((r) => r.rank)).toEqual(rows.map((_, i) => i + 1));
  });
});
