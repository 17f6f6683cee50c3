import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CODECS, sweepSpecs } from '../../src/codecs/registry';
import { measurePipelines, measureShard, type MeasureResult } from '../../src/measure/measure';
import { makeUnits, shardUnits, unitWeight } from '../../src/measure/parallel';
import { mergePartials, parseShardSpec, partialFileName, partialText, readPartial } from '../../src/measure/shard';
import { fashionRef } from '../../src/data/spec';
import { makeRef, type PipelineRef } from '../../src/pipelines/ref';
import { UserError } from '../../src/util/errors';
import { buildFixtureZoo } from './fixture';

/**
 * Sharding on the fixture zoo: N shards of a run, merged, give exactly the unsharded run's
 * per-sample results and rows, whatever the cache held; merge refuses incomplete or mixed sets.
 */
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'splitsim-shard-'));
const zooDir = path.join(work, 'models');
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

function refs(): PipelineRef[] {
  const out = [makeRef('teacher', 'device-only')];
  for (const e of CODECS.filter((x) => x.kind === 'input' && ['raw', 'png', 'jpeg'].includes(x.key))) for (const s of sweepSpecs(e).slice(0, 3)) out.push(makeRef('teacher', 'input', s));
  for (const split of ['stem', 'stage1']) for (const s of sweepSpecs(CODECS.find((x) => x.key === 'quant')!).slice(0, 6)) out.push(makeRef('teacher', split, s));
  out.push(makeRef('student-b1', 'latent', { codec: 'factorized' } as never));
  return out;
}
const base = (cache: string) => ({ zooDir, samples: 450, seed: 9, workers: 1, progress: false, cacheDir: path.join(work, cache) });

let whole: MeasureResult;
beforeAll(async () => {
  await buildFixtureZoo(zooDir);
  whole = await measurePipelines(refs(), base('c-whole'));
}, 300000);

function writeShards(count: number, cache: string, dir: string, seed = 9): Promise<string[]> {
  fs.mkdirSync(dir, { recursive: true });
  return Promise.all(Array.from({ length: count }, async (_, index) => {
    const r = await measureShard(refs(), { index, count }, { ...base(cache), seed });
    const file = path.join(dir, partialFileName({ index, count }));
    fs.writeFileSync(file, partialText(r));
    return file;
  }));
}

test('--shard I/N: 0-based, N at least 1, anything else named', () => {
  expect(parseShardSpec('2/4')).toEqual({ index: 2, count: 4 });
  expect(parseShardSpec(' 0 / 1 ')).toEqual({ index: 0, count: 1 });
  for (const bad of ['4/4', '1/0', '-1/3', '1', 'a/b', '1/2/3', '1.5/4']) expect(() => parseShardSpec(bad)).toThrow(/--shard: expected I\/N with 0 <= I < N/);
  expect(partialFileName({ index: 3, count: 12 })).toBe('measurements.shard-03-of-12.json');
});

test('the shards split the units between them, each unit once, balanced by weight', () => {
  const units = makeUnits(refs(), Array.from({ length: 450 }, (_, i) => i), { modelDirs: {}, data: fashionRef(), blockSize: 200, chunk: 200 });
  // Groups: device-only, 5 input settings (raw, png, 3 JPEG), 2 splits, the student; 3 blocks (200, 200, 50).
  expect(units.length).toBe(9 * 3);
  for (const count of [1, 2, 3, 4, 7]) {
    const shards = Array.from({ length: count }, (_, i) => shardUnits(units, i, count));
    const ids = shards.flatMap((s) => s.map((u) => u.id)).sort((a, b) => a - b);
    expect(ids).toEqual(units.map((u) => u.id));
    const loads = shards.map((s) => s.reduce((a, u) => a + unitWeight(u), 0));
    const heaviest = Math.max(...units.map(unitWeight));
    expect(Math.max(...loads) - Math.min(...loads)).toBeLessThanOrEqual(heaviest);
  }
});

test('three shards merged = one unsharded run: same per-sample results, rows and run identity', async () => {
  const files = await writeShards(3, 'c-shards', path.join(work, 'p3'));
  const merged = mergePartials(files.map(readPartial));
  expect(merged.info).toEqual(whole.info);
  expect(merged.pipelines.map((p) => p.name)).toEqual(whole.pipelines.map((p) => p.name));
  for (const [i, p] of merged.pipelines.entries()) {
    const q = whole.pipelines[i];
    expect(Buffer.from(p.results.bytes.buffer).equals(Buffer.from(q.results.bytes.buffer))).toBe(true);
    expect(Array.from(p.results.correct)).toEqual(Array.from(q.results.correct));
    expect(p.row).toEqual(q.row);
  }
}, 300000);

test('a shard reuses whole-run cache entries (sliced) and gives the same partial', async () => {
  const fromCache = await measureShard(refs(), { index: 1, count: 3 }, base('c-whole'));
  expect(fromCache.timing.sampleRuns).toBe(0);
  const fresh = readPartial(path.join(work, 'p3', partialFileName({ index: 1, count: 3 })));
  expect(fromCache.parts.map((p) => [p.pipeline, p.block, Array.from(p.results.bytes)])).toEqual(fresh.parts.map((p) => [p.pipeline, p.block, Array.from(p.results.bytes)]));
});

test('merge refuses a missing or repeated shard, shards of different runs, and damaged partials, naming the files', async () => {
  const dir = path.join(work, 'p3');
  const f = (i: number) => path.join(dir, partialFileName({ index: i, count: 3 }));
  const read = (...files: string[]) => files.map(readPartial);
  expect(() => mergePartials(read(f(0), f(2)))).toThrow(/shard\(s\) 1\/3 missing \(given: .*shard-0-of-3\.json, .*shard-2-of-3\.json\)/);
  const copy = path.join(work, 'copy-of-0.json');
  fs.copyFileSync(f(0), copy);
  expect(() => mergePartials(read(f(0), f(1), f(2), copy))).toThrow(new RegExp(`shard 0/3 given 2 times: .*shard-0-of-3\\.json, .*copy-of-0\\.json`));
  const other = await writeShards(3, 'c-other', path.join(work, 'other'), 10);
  let err: unknown;
  try { mergePartials(read(f(0), f(1), other[2])); } catch (e) { err = e; }
  expect(err).toBeInstanceOf(UserError);
  expect((err as Error).message).toMatch(/the partials come from 2 different runs/);
  expect((err as Error).message).toContain(other[2]);
  expect((err as Error).message).toContain('seed 10');
  const text = fs.readFileSync(f(1), 'utf8');
  fs.writeFileSync(copy, text.slice(0, text.length - 200));
  expect(() => readPartial(copy)).toThrow(new RegExp(`${copy.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: not a complete partial .*truncated`));
  fs.writeFileSync(copy, text.replace('"block":0', '"block":1'));
  expect(() => readPartial(copy)).toThrow(/checksum mismatch/);
  expect(() => mergePartials([])).toThrow(/no partial files/);
}, 300000);
