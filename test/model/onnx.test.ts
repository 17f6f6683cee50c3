import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadFashionMnistTest, toModelInput } from '../../src/data/fashion';
import { grayNormalization } from '../../src/data/preprocess';
import { normalizedInput, OnnxSplitter } from '../../src/measure/onnxRunner';
import { analyzeModel } from '../../src/model/analysis';
import { initBackend, tf } from '../../src/model/backend';
import { hashOnnxModel, listZooModels, readZooMeta, ZOO_DIR } from '../../src/model/meta';
import { floatCuts, readOnnxFile } from '../../src/model/onnx';
import { analyzeOnnx } from '../../src/model/onnx-analysis';
import { cutTensors, extractModel } from '../../src/model/onnx-graph';
import { decodeModel, encodeModel } from '../../src/model/onnx-proto';
import { chooseRuntime, loadOrt } from '../../src/model/runtime';
import { loadZooModel } from '../../src/model/zoo';
import { UserError } from '../../src/util/errors';

/**
 * The zoo's ONNX export against itself and against tfjs: for every model and split point the
 * extracted head then tail must give the whole ONNX model's logits (to float rounding), the
 * whole ONNX model must give the tfjs model's logits and the PyTorch golden logits; graph
 * cuts, per-node analysis, and what a bad file gets.
 */
const N = 64;
const data = loadFashionMnistTest(path.join(__dirname, '..', '..', 'data'));
const indices = Array.from({ length: N }, (_, i) => i);
const pixels = data.images.subarray(0, N * 28 * 28);
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'splitsim-onnx-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

test('onnxruntime-node loads here (the CPU binaries ship in the npm package)', () => {
  expect(loadOrt()).toBeDefined();
});

describe.each(listZooModels())('zoo model %s in ONNX', (name) => {
  const meta = readZooMeta(path.join(ZOO_DIR, name));
  const file = path.join(ZOO_DIR, name, 'model.onnx');

  test('head then tail equals the whole ONNX model (<= 1e-4) and the whole model equals tfjs (<= 1e-3) at every split point', async () => {
    await initBackend();
    const m = await OnnxSplitter.open(file, meta.splitPoints);
    const x = normalizedInput(pixels, N, [28, 28, 1], grayNormalization(meta.input), m.f.layout);
    const whole = await m.whole(x, N);
    const zm = await loadZooModel(name);
    const tin = toModelInput(data, indices, meta.input);
    const ty = zm.model.predict(tin) as tf.Tensor;
    const tfjs = ty.dataSync() as Float32Array;
    tf.dispose([tin, ty]);
    zm.model.dispose();
    const vsTfjs = maxAbs(whole, tfjs);
    const golden = JSON.parse(fs.readFileSync(path.join(ZOO_DIR, name, 'golden.json'), 'utf8')) as { logits: number[][] };
    const vsGolden = maxAbs(whole.subarray(0, golden.logits.length * 10), golden.logits.flat());
    const heads = await m.heads(meta.splitPoints, x, N);
    const parts: string[] = [];
    for (const [k, split] of meta.splitPoints.entries()) {
      // Through the codecs' channel-last layout and back, as measurement does.
      const coded = m.toCoded(split, heads[k], N);
      const back = await m.tail(split, m.fromCoded(split, coded.values, N), N);
      const d = maxAbs(back, whole);
      parts.push(`${split} ${d.toExponential(1)}`);
      expect(d).toBeLessThanOrEqual(1e-4);
    }
    console.log(`${name} (${N} test images): max |dlogit| head+tail vs whole: ${parts.join(', ')}; whole ONNX vs tfjs ${vsTfjs.toExponential(2)}, vs PyTorch golden ${vsGolden.toExponential(2)}`);
    expect(vsTfjs).toBeLessThanOrEqual(1e-3);
    expect(vsGolden).toBeLessThanOrEqual(1e-4);
  });

  test('its split points are cuts of the graph, and the analysis gives the tfjs MACs and split sizes', async () => {
    const f = readOnnxFile(file);
    expect(f.layout).toBe('nchw');
    expect(f.imageShape).toEqual([28, 28, 1]);
    const cuts = await floatCuts(f);
    for (const s of meta.splitPoints) expect(cuts).toContain(s);
    await initBackend();
    const zm = await loadZooModel(name);
    const ta = analyzeModel(zm.model, 'fp32', name);
    zm.model.dispose();
    const { analysis: oa, unknown } = await analyzeOnnx(f, 'fp32', name);
    expect([...unknown.keys()]).toEqual([]);
    expect(oa.totalMacs).toBe(ta.totalMacs);
    for (const s of meta.splitPoints) {
      const o = oa.layers.find((l) => l.name === s)!;
      const t = ta.layers.find((l) => l.name === s)!;
      expect([s, o.outputShape]).toEqual([s, t.outputShape]);
    }
  });
});

test('cuts exclude tensors inside a residual block (the skip connection also crosses)', async () => {
  const f = readOnnxFile(path.join(ZOO_DIR, 'teacher', 'model.onnx'));
  const cuts = cutTensors(f.index);
  // Each stage's block: conv1 -> relu -> conv2 -> add(shortcut): only the stage outputs separate the graph.
  const inside = f.index.nodes.filter((n) => n.opType === 'Conv').map((n) => n.output[0]).filter((t) => cuts.includes(t));
  expect(inside).toEqual(['/net/Conv_output_0']); // the stem conv, before the stem's ReLU
  expect(cuts.filter((t) => meta0.splitPoints.includes(t))).toEqual(meta0.splitPoints);
});
const meta0 = readZooMeta(path.join(ZOO_DIR, 'teacher'));

test('a tail extracted at a split point that is not a cut cannot be built', () => {
  const f = readOnnxFile(path.join(ZOO_DIR, 'teacher', 'model.onnx'));
  // Inside stage1's block the shortcut (stem) also reaches the add: the tail cannot be computed from the conv alone.
  const inner = f.index.nodes.find((n) => n.opType === 'Relu' && !meta0.splitPoints.includes(n.output[0]) && n.output[0] !== 'stem')!.output[0];
  expect(() => extractModel(f.model, f.index, [inner], [f.index.output], new Map([[inner, [16, 28, 28]]]), null, 'tail')).toThrow(/is not computed from/);
});

test('the ModelProto survives decoding and encoding byte for byte', () => {
  const bytes = fs.readFileSync(path.join(ZOO_DIR, 'student-b0.1', 'model.onnx'));
  expect(Buffer.compare(Buffer.from(encodeModel(decodeModel(bytes))), bytes)).toBe(0);
});

describe('bad ONNX files exit 2 naming the file and what was expected', () => {
  const teacher = fs.readFileSync(path.join(ZOO_DIR, 'teacher', 'model.onnx'));
  const write = (n: string, b: Uint8Array) => { const f = path.join(work, n); fs.writeFileSync(f, b); return f; };

  test('a corrupt or truncated file', () => {
    for (const f of [write('garbage.onnx', Buffer.from('not a protobuf at all, just text\n')), write('cut.onnx', teacher.subarray(0, teacher.length >> 1))]) {
      expect(() => readOnnxFile(f)).toThrow(UserError);
      expect(() => readOnnxFile(f)).toThrow(new RegExp(`^${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not an ONNX model .*expected a ModelProto`));
    }
  });

  test('an unsupported opset', () => {
    for (const v of [99, 3]) {
      const m = decodeModel(teacher);
      m.opsetImport[0].version = v;
      const f = write(`opset${v}.onnx`, encodeModel(m));
      expect(() => readOnnxFile(f)).toThrow(`${f}: opset ${v} (domain ai.onnx) is not supported: expected opset 7 to 26`);
    }
  });

  test('an input that is not a fixed image', () => {
    const m = decodeModel(teacher);
    m.graph!.input[0].type!.tensorType!.shape!.dim[2] = { dimParam: 'height' };
    const f = write('dynamic.onnx', encodeModel(m));
    expect(() => readOnnxFile(f)).toThrow(`${f}: input 'input' has shape [batch, 1, height, 28]; expected a fixed [batch, channels, height, width]`);
  });

  test('an ONNX-only model forced onto tfjs, and a model without ONNX forced onto ONNX Runtime', () => {
    expect(() => chooseRuntime({ where: 'x.onnx', tfjs: false, onnx: 'x.onnx' }, 'tfjs')).toThrow('x.onnx: SPLITSIM_RUNTIME=tfjs, but this model is ONNX only (no model.json)');
    expect(() => chooseRuntime({ where: 'dir', tfjs: true }, 'onnxruntime')).toThrow('dir: SPLITSIM_RUNTIME=onnxruntime, but this model has no ONNX file (model.onnx)');
    expect(chooseRuntime({ where: 'dir', tfjs: true, onnx: 'dir/model.onnx' }, 'auto')).toBe('onnxruntime');
    expect(chooseRuntime({ where: 'dir', tfjs: true }, 'auto')).toBe('tfjs');
  });
});

test('the ONNX hash covers the file and the folder\'s meta.json', () => {
  const f = path.join(work, 'h.onnx');
  fs.copyFileSync(path.join(ZOO_DIR, 'teacher', 'model.onnx'), f);
  const a = hashOnnxModel(f);
  expect(hashOnnxModel(f, path.join(ZOO_DIR, 'teacher', 'meta.json'))).not.toBe(a);
  fs.appendFileSync(f, Buffer.from([0]));
  expect(hashOnnxModel(f)).not.toBe(a);
});
