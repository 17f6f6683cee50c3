/**
 * The zoo's hyperprior models (hyperprior students, the scale-hyperprior input codecs), coded
 * for real: the encoding process and a second, separate decoding process must agree bit for
 * bit (the receiver recomputes the scales from the decoded side information), coded bytes stay
 * within 2 % + 4 B of the model's estimate, and the symbols and the coded path's logits match
 * PyTorch's golden ones. SPLITSIM_EXACT_SAMPLES=10000 runs the check on the whole test set.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createFeatureCodec, HyperpriorFeatureCodec } from '../../src/codecs/feature';
import { loadFashionMnistTest } from '../../src/data/fashion';
import { initBackend } from '../../src/model/backend';
import { DEFAULT_ZOO_DIR, listZooModels, readZooMeta } from '../../src/model/zoo';
import { loadZooRunner } from '../../src/measure/zooRunner';
import { ROOT } from '../helpers/cli';

const zoo = process.env.SPLITSIM_TEST_ZOO ?? DEFAULT_ZOO_DIR;
const names = fs.existsSync(path.join(zoo, 'index.json'))
  ? listZooModels(zoo).filter((n) => readZooMeta(path.join(zoo, n)).bottleneck?.hyperprior !== undefined)
  : [];
const built = fs.existsSync(path.join(ROOT, 'dist', 'src', 'codecs', 'feature.js'));
if (names.length === 0) console.log('skipping hyperprior exactness tests: no hyperprior model in the zoo');
if (!built) console.log('skipping the two-process check: dist/ is missing (npm run build)');
const N = Number(process.env.SPLITSIM_EXACT_SAMPLES ?? 64);

/** The second process: encodes the latents and decodes the payloads it is given, with the compiled codec. */
const CHILD = `
const fs = require('fs');
const { createFeatureCodec } = require(process.argv[1] + '/dist/src/codecs/feature.js');
const { codecInfoOf } = require(process.argv[1] + '/dist/src/measure/zooRunner.js');
const { readZooMeta } = require(process.argv[1] + '/dist/src/model/meta.js');
const [dir, latFile, payFile, outDir] = process.argv.slice(2);
const meta = readZooMeta(dir);
const codec = createFeatureCodec({ codec: 'hyperprior' }, codecInfoOf({ dir, meta }));
const shape = meta.bottleneck.latentShape;
const size = shape[0] * shape[1] * shape[2];
const lat = new Float32Array(fs.readFileSync(latFile).buffer.slice(0));
const n = lat.length / size;
const enc = [];
for (let i = 0; i < n; i++) {
  const b = codec.encode(lat.subarray(i * size, (i + 1) * size), shape);
  const len = Buffer.alloc(4); len.writeUInt32LE(b.length);
  enc.push(len, Buffer.from(b));
}
fs.writeFileSync(outDir + '/payloads.bin', Buffer.concat(enc));
const pay = fs.readFileSync(payFile);
const dec = [];
for (let o = 0; o < pay.length; ) {
  const len = pay.readUInt32LE(o); o += 4;
  dec.push(Buffer.from(codec.decode(new Uint8Array(pay.buffer, pay.byteOffset + o, len)).values.buffer));
  o += len;
}
fs.writeFileSync(outDir + '/decoded.bin', Buffer.concat(dec));
`;

function framed(payloads: Uint8Array[]): Buffer {
  return Buffer.concat(payloads.flatMap((b) => {
    const len = Buffer.alloc(4);
    len.writeUInt32LE(b.length);
    return [len, Buffer.from(b)];
  }));
}

(names.length ? describe : describe.skip)('hyperprior models of the zoo, coded for real', () => {
  const set = loadFashionMnistTest();
  let tmp: string;
  beforeAll(async () => {
    await initBackend();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'splitsim-hp-'));
  });
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  test.each(names)(`%s: a second process decodes the first one's bytes bit for bit and encodes the same bytes (${N} images)`, async (name) => {
    const runner = await loadZooRunner(name, zoo);
    const codec = createFeatureCodec({ codec: 'hyperprior' }, runner.codecInfo) as HyperpriorFeatureCodec;
    const meta = readZooMeta(path.join(zoo, name));
    const split = meta.bottleneck!.layer;
    const head = await runner.head(split, set.images.subarray(0, N * 784), N);
    const size = head.values.length / N;
    const payloads: Uint8Array[] = [];
    const decoded = new Float32Array(head.values.length);
    let bytes = 0, est = 0;
    for (let i = 0; i < N; i++) {
      const v = head.values.subarray(i * size, (i + 1) * size);
      const b = codec.encode(v, head.shape);
      payloads.push(b);
      decoded.set(codec.decode(b).values, i * size);
      bytes += b.length;
      est += codec.estimatedBits(v, head.shape) / 8;
    }
    const dir = path.join(tmp, name);
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'latents.bin'), Buffer.from(head.values.buffer, head.values.byteOffset, head.values.byteLength));
    fs.writeFileSync(path.join(dir, 'payloads-a.bin'), framed(payloads));
    console.log(`${name}: ${(bytes / N).toFixed(2)} bytes coded, ${(est / N).toFixed(2)} estimated (meta: ${meta.bottleneck!.estimatedBytesPerImage!.toFixed(2)} on all 10,000) per image, ${N} images`);
    expect(Math.abs(bytes - est) / N).toBeLessThanOrEqual(0.02 * (est / N) + 4);
    if (!built) return;
    const r = spawnSync(process.execPath, ['-e', CHILD, ROOT, path.join(zoo, name), path.join(dir, 'latents.bin'), path.join(dir, 'payloads-a.bin'), dir], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'payloads.bin')).equals(framed(payloads))).toBe(true);
    expect(fs.readFileSync(path.join(dir, 'decoded.bin')).equals(Buffer.from(decoded.buffer))).toBe(true);
  });

  test.each(names)('%s: symbols and the coded path\'s logits match PyTorch\'s golden ones', async (name) => {
    const runner = await loadZooRunner(name, zoo);
    const codec = createFeatureCodec({ codec: 'hyperprior' }, runner.codecInfo) as HyperpriorFeatureCodec;
    const golden = JSON.parse(fs.readFileSync(path.join(zoo, name, 'golden.json'), 'utf8')) as {
      indices: number[]; coded: { zSymbols: { data: number[] }; ySymbols: { data: number[] }; logits: number[][] };
    };
    const n = golden.indices.length;
    const meta = readZooMeta(path.join(zoo, name));
    const imgs = Uint8Array.from(golden.indices.flatMap((i) => [...set.images.subarray(i * 784, (i + 1) * 784)]));
    const head = await runner.head(meta.bottleneck!.layer, imgs, n);
    const size = head.values.length / n;
    const zn = golden.coded.zSymbols.data.length / n;
    const flipped: number[] = [];
    const decoded = new Float32Array(head.values.length);
    for (let i = 0; i < n; i++) {
      const v = head.values.subarray(i * size, (i + 1) * size);
      const s = codec.coder.symbols(v);
      const same = s.z.every((q, k) => q === golden.coded.zSymbols.data[i * zn + k]) && s.y.every((q, k) => q === golden.coded.ySymbols.data[i * size + k]);
      if (!same) flipped.push(i);
      decoded.set(codec.decode(codec.encode(v, head.shape)).values, i * size);
    }
    const pred = await runner.tailClassify(meta.bottleneck!.layer, decoded, head.shape, n);
    const want = golden.coded.logits.map((l) => l.indexOf(Math.max(...l)));
    const agree = [...pred].filter((p, i) => p === want[i] || flipped.includes(i)).length;
    console.log(`${name}: ${flipped.length} of ${n} golden images with a symbol differing from PyTorch's; classes agree on ${agree}/${n}`);
    // float32 (tfjs, PyTorch) against float64 (the codec's h_s) can move a symbol across a rounding boundary, rarely
    expect(flipped.length).toBeLessThanOrEqual(2);
    expect(agree).toBe(n);
  });

  test.each(names)('%s: coded top-1 on the first 1,000 test images equals PyTorch\'s (within 2 images)', async (name) => {
    const runner = await loadZooRunner(name, zoo);
    const codec = createFeatureCodec({ codec: 'hyperprior' }, runner.codecInfo) as HyperpriorFeatureCodec;
    const meta = readZooMeta(path.join(zoo, name));
    const n = 1000;
    const head = await runner.head(meta.bottleneck!.layer, set.images.subarray(0, n * 784), n);
    const size = head.values.length / n;
    const decoded = new Float32Array(head.values.length);
    for (let i = 0; i < n; i++) decoded.set(codec.decode(codec.encode(head.values.subarray(i * size, (i + 1) * size), head.shape)).values, i * size);
    const pred = await runner.tailClassify(meta.bottleneck!.layer, decoded, head.shape, n);
    const top1 = [...pred].filter((p, i) => p === set.labels[i]).length / n;
    const pt = meta.pytorchTop1First1000 as number;
    console.log(`${name}: coded top-1 on the first 1,000 images: TypeScript ${(100 * top1).toFixed(1)}%, PyTorch ${(100 * pt).toFixed(1)}%`);
    expect(Math.abs(top1 - pt)).toBeLessThanOrEqual(0.002);
  });
});
