import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CODECS, sweepSpecs } from '../../src/codecs/registry';
import { measurePipelines } from '../../src/measure/measure';
import { makeRef, pipelineName, type PipelineRef } from '../../src/pipelines/ref';

/**
 * Image folders generalised the measurement path (datasets that decode per batch, RGB input
 * codecs, per-channel normalisation, units per split group). Fashion-MNIST must not notice:
 * test/data/golden/fashion-measure.json holds SHA-256 digests of every per-sample array
 * (bytes, correctness, estimates) of 62 pipelines of the real zoo on 250 test images, written
 * by the code before that change; the same pipelines measured now must give the same digests.
 */
const golden = JSON.parse(fs.readFileSync(path.join(__dirname, 'golden', 'fashion-measure.json'), 'utf8')) as {
  backend: string; samples: number; seed: number;
  pipelines: Record<string, { bytes: string; correct: string; estimated: string | null; elements: number; accuracy: number; bytes_mean: number }>;
};

const digest = (a: ArrayBufferView) => createHash('sha256').update(Buffer.from(a.buffer, a.byteOffset, a.byteLength)).digest('hex');

function refs(): PipelineRef[] {
  const out = [makeRef('teacher', 'device-only')];
  for (const e of CODECS.filter((x) => x.kind === 'input')) for (const s of sweepSpecs(e)) out.push(makeRef('teacher', 'input', s));
  for (const e of CODECS.filter((x) => x.kind === 'feature' && !x.needs)) for (const s of sweepSpecs(e)) out.push(makeRef('teacher', 'stage2', s));
  out.push(makeRef('student-b0.1', 'bottleneck', { codec: 'factorized' } as never));
  for (const s of sweepSpecs(CODECS.find((x) => x.key === 'fixedquant')!)) out.push(makeRef('channel-reduction', 'bottleneck', s));
  // Codecs registered after the digests were written (tiled image codecs on features) have none.
  return out.filter((r) => pipelineName(r) in golden.pipelines);
}

test('Fashion-MNIST measurements are bit-identical to those before image folders', async () => {
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'splitsim-golden-'));
  try {
    // On tfjs: the digests were written by the tfjs code (ONNX Runtime's agreement is test/model/onnx-measure.test.ts).
    const r = await measurePipelines(refs(), { samples: golden.samples, seed: golden.seed, cacheDir, workers: 1, progress: false, runtime: 'tfjs' });
    expect(r.pipelines.map((p) => p.name)).toEqual(Object.keys(golden.pipelines));
    const sameBackend = r.backend === golden.backend;
    if (!sameBackend) console.log(`golden digests were made on tfjs ${golden.backend}, this run uses ${r.backend}: comparing only what the backend does not touch (input-codec payloads)`);
    for (const p of r.pipelines) {
      const g = golden.pipelines[p.name];
      if (!sameBackend && p.ref.kind !== 'input') continue;
      expect([p.name, digest(p.results.bytes), p.results.elements]).toEqual([p.name, g.bytes, g.elements]);
      if (!sameBackend) continue;
      expect([p.name, digest(p.results.correct), p.results.estimatedBytes ? digest(p.results.estimatedBytes) : null]).toEqual([p.name, g.correct, g.estimated]);
      expect(p.row.accuracy).toBe(g.accuracy);
    }
  } finally {
    fs.rmSync(cacheDir, { recursive: true, force: true });
  }
}, 300000);
