import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CODECS, sweepSpecs } from '../../src/codecs/registry';
import { measurePipelines, type MeasureResult } from '../../src/measure/measure';
import { ZOO_DIR } from '../../src/model/meta';
import { makeRef, type PipelineRef } from '../../src/pipelines/ref';

/**
 * The same pipelines measured on ONNX Runtime and on tfjs (a subset of the test set; README
 * has the full one): the same correct/incorrect answer for every sample of every pipeline, the
 * same bytes wherever the coded values do not depend on the last float bits of an activation
 * (input codecs, the students' learned bottleneck), and the runtime in every result.
 */
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'splitsim-onnx-measure-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

function refs(): PipelineRef[] {
  const out = [makeRef('teacher', 'device-only')];
  for (const e of CODECS.filter((x) => x.kind === 'input')) for (const s of sweepSpecs(e).slice(0, 1)) out.push(makeRef('teacher', 'input', s));
  for (const e of CODECS.filter((x) => x.kind === 'feature' && !x.needs)) for (const s of sweepSpecs(e)) out.push(makeRef('teacher', 'stage3', s));
  out.push(makeRef('student-b0.1', 'bottleneck', { codec: 'factorized' } as never));
  for (const s of sweepSpecs(CODECS.find((x) => x.key === 'fixedquant')!)) out.push(makeRef('channel-reduction', 'bottleneck', s));
  return out;
}

const SAMPLES = 120;
let ort: MeasureResult;
let tfjs: MeasureResult;

beforeAll(async () => {
  const opts = { samples: SAMPLES, seed: 3, workers: 1, progress: false, useCache: false };
  ort = await measurePipelines(refs(), { ...opts, runtime: 'onnxruntime' });
  tfjs = await measurePipelines(refs(), { ...opts, runtime: 'tfjs' });
}, 300000);

test('every result reports its runtime and the hash of the files that runtime read', () => {
  expect(ort.backend).toBe('onnxruntime');
  expect(tfjs.backend).toMatch(/^(wasm|cpu|tensorflow)$/);
  for (const p of ort.pipelines) expect(p.row.backend).toBe('onnxruntime');
  const hashes = (r: MeasureResult) => Object.fromEntries(r.models.map((m) => [m.name, m.hash]));
  for (const [name, h] of Object.entries(hashes(ort))) expect(h).not.toBe(hashes(tfjs)[name]);
  expect(ort.info.models.every((m) => m.backend === undefined)).toBe(true);
});

test('both runtimes answer every sample of every pipeline alike, and code the same bytes where activations are not re-quantised', () => {
  expect(ort.pipelines.map((p) => p.name)).toEqual(tfjs.pipelines.map((p) => p.name));
  let sameBytes = 0;
  const feature: string[] = [];
  for (const [k, o] of ort.pipelines.entries()) {
    const t = tfjs.pipelines[k];
    expect([o.name, Buffer.from(o.results.correct).equals(Buffer.from(t.results.correct))]).toEqual([o.name, true]);
    expect(o.row.accuracy).toBe(t.row.accuracy);
    const same = Buffer.from(o.results.bytes.buffer).equals(Buffer.from(t.results.bytes.buffer));
    // A quantiser on raw float activations (naive splits, tiled image codecs on features, the
    // channel-reduction latent) moves a value whose two runtimes' results straddle a bin edge;
    // the students' rounded latent is far from its edges.
    if (o.ref.kind === 'naive' || o.ref.kind === 'codec-feature' || o.ref.kind === 'channel-reduction') {
      feature.push(o.name);
      if (same) sameBytes++;
    } else expect([o.name, same]).toEqual([o.name, true]);
  }
  console.log(`${SAMPLES} samples: ${ort.pipelines.length} pipelines, the same correctness everywhere; coded bytes identical for every input-codec, device-only and learned-bottleneck pipeline and for ${sameBytes} of the ${feature.length} pipelines that quantise raw activations (teacher/stage3 quantisers and tiled codecs, channel-reduction)`);
});

test('a run of models on both runtimes records each model\'s backend', async () => {
  // The teacher's tfjs files alone: a folder tfjs runs, next to the zoo teacher on ONNX Runtime.
  const dir = path.join(work, 'teacher-tfjs');
  fs.mkdirSync(dir);
  for (const f of ['model.json', 'group1-shard1of1.bin', 'meta.json']) fs.copyFileSync(path.join(ZOO_DIR, 'teacher', f), path.join(dir, f));
  const r = await measurePipelines([makeRef('teacher', 'device-only'), makeRef('teacher-tfjs', 'device-only')], {
    samples: 40, workers: 1, progress: false, useCache: false, runtime: 'auto', modelDirs: new Map([['teacher-tfjs', dir]]),
  });
  expect(r.backend).toMatch(/^onnxruntime\+(wasm|cpu|tensorflow)$/);
  expect(r.pipelines[0].row.backend).toBe('onnxruntime');
  expect(r.pipelines[1].row.backend).toBe(r.backend.split('+')[1]);
  expect(r.info.models.map((m) => m.backend)).toEqual(['onnxruntime', r.backend.split('+')[1]]);
  expect(r.pipelines[0].row.accuracy).toBe(r.pipelines[1].row.accuracy);
}, 120000);
