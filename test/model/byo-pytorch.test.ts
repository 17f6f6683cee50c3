import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { normalizedInput, OnnxSplitter } from '../../src/measure/onnxRunner';
import { prepareModel } from '../../src/model/derive';
import { resolveZooModel } from '../../src/model/meta';
import { readOnnxFile } from '../../src/model/onnx';
import { analyzeOnnx, unknownOperatorsWarning } from '../../src/model/onnx-analysis';

/**
 * The documented bring-your-own path from PyTorch (training/byo_onnx.py): a torchvision
 * ResNet-18 with random weights, exported here, then read by splitsim. Its split points must
 * be the graph's cuts between residual blocks (every block's output that is smaller than the
 * input and than every earlier candidate), head then tail must equal the whole model at each,
 * and the per-node analysis must count the MACs PyTorch's own modules do. Needs Debian's
 * python3-torch and python3-torchvision (not installed in CI): skipped saying so without them.
 */
const PY = process.env.SPLITSIM_TORCH_PYTHON ?? '/usr/bin/python3';
const probe = spawnSync(PY, ['-c', 'import torch, torchvision'], { encoding: 'utf8' });
const haveTorch = probe.status === 0;
if (!haveTorch) console.log(`skipping the PyTorch export check: ${PY} cannot import torch and torchvision (${(probe.stderr || probe.error?.message || '').trim().split('\n').pop()})`);
const maybe = haveTorch ? describe : describe.skip;

// MACs of Conv2d, ConvTranspose2d and Linear modules counted by PyTorch forward hooks (an
// independent count): argv = the network's constructor expression and its input C,H,W.
const COUNT_MACS = `
import sys, torch, torchvision
sys.path.insert(0, sys.argv[3])
import byo_example_net
net = eval(sys.argv[1]).eval()
total = [0]
def hook(m, i, o):
    if isinstance(m, torch.nn.Conv2d):
        total[0] += o.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]
    elif isinstance(m, torch.nn.ConvTranspose2d):
        total[0] += i[0].numel() * (m.out_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]
    elif isinstance(m, torch.nn.Linear):
        total[0] += o.numel() * m.in_features
for m in net.modules():
    m.register_forward_hook(hook)
with torch.no_grad():
    net(torch.zeros(1, *[int(v) for v in sys.argv[2].split(',')]))
print(total[0])
`;
const TRAINING = path.join(__dirname, '..', '..', 'training');
const pytorchMacs = (ctor: string, input: string) => {
  const r = spawnSync(PY, ['-c', COUNT_MACS, ctor, input, TRAINING], { encoding: 'utf8' });
  expect([r.status, r.stderr.split('\n').filter((l) => /Error/.test(l))]).toEqual([0, []]);
  return Number(r.stdout.trim());
};

maybe('a torchvision network exported with training/byo_onnx.py', () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'splitsim-byo-torch-'));
  const file = path.join(work, 'resnet18.onnx');
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  beforeAll(() => {
    const r = spawnSync(PY, [path.join(TRAINING, 'byo_onnx.py'), '--arch', 'resnet18', '--out', file], { encoding: 'utf8' });
    expect([r.status, r.stderr.split('\n').filter((l) => /Error/.test(l))]).toEqual([0, []]);
    expect(r.stdout).toMatch(/^wrote .*resnet18\.onnx: resnet18, input 1x3x224x224, 1000 classes/);
  }, 120000);

  test('split points are the block outputs; head then tail equals the whole model at each (<= 1e-4)', async () => {
    await prepareModel(file);
    const e = resolveZooModel(file);
    expect(e.meta.input.shape).toEqual([224, 224, 3]);
    expect(e.meta.splitPoints).toEqual([
      '/layer2/layer2.0/relu_1/Relu_output_0',
      '/layer3/layer3.0/relu_1/Relu_output_0',
      '/layer4/layer4.0/relu_1/Relu_output_0',
      '/avgpool/GlobalAveragePool_output_0',
    ]);
    const m = await OnnxSplitter.open(file, e.meta.splitPoints);
    const n = 3;
    const pixels = Uint8Array.from({ length: n * 224 * 224 * 3 }, (_, i) => (i * 2654435761) >>> 24);
    const x = normalizedInput(pixels, n, [224, 224, 3], { order: 'rgb', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] }, m.f.layout);
    const whole = await m.whole(x, n);
    const heads = await m.heads(e.meta.splitPoints, x, n);
    for (const [k, split] of e.meta.splitPoints.entries()) {
      const coded = m.toCoded(split, heads[k], n);
      const back = await m.tail(split, m.fromCoded(split, coded.values, n), n);
      let d = 0;
      for (let i = 0; i < whole.length; i++) d = Math.max(d, Math.abs(back[i] - whole[i]));
      expect([split, d <= 1e-4]).toEqual([split, true]);
    }
  }, 120000);

  test('the per-node analysis counts the MACs PyTorch counts, with no unknown operator', async () => {
    const { analysis, unknown } = await analyzeOnnx(readOnnxFile(file), 'fp32', 'resnet18');
    expect([...unknown.keys()]).toEqual([]);
    expect(analysis.totalMacs).toBe(pytorchMacs('torchvision.models.resnet18(weights=None)', '3,224,224'));
    expect(analysis.totalMacs).toBeGreaterThan(1.8e9); // ResNet-18: 1.81 GMACs at 224 px
    expect(analysis.totalMacs).toBeLessThan(1.83e9);
  }, 120000);
});

maybe('an own nn.Module with depthwise and transposed convolutions, Concat, Resize and an operator splitsim does not analyse', () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'splitsim-byo-module-'));
  const file = path.join(work, 'net.onnx');
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  test('exported from training/byo_example_net.py: MACs as PyTorch counts them; CumSum named in a warning and counted as elementwise', async () => {
    const r = spawnSync(PY, [path.join(TRAINING, 'byo_onnx.py'), '--module', 'byo_example_net:Net', '--input', '3,32,32', '--classes', '10', '--out', file], { encoding: 'utf8', cwd: TRAINING });
    expect([r.status, r.stderr.split('\n').filter((l) => /Error/.test(l))]).toEqual([0, []]);
    const { analysis, unknown } = await analyzeOnnx(readOnnxFile(file), 'fp32', 'net');
    expect([...unknown.entries()]).toEqual([['CumSum', 1]]);
    expect(unknownOperatorsWarning(file, unknown)).toMatch(/CumSum/);
    const types = new Set(analysis.layers.map((l) => l.type));
    for (const t of ['DepthwiseConv2D', 'Conv2DTranspose', 'Concatenate', 'UpSampling2D', 'Dense']) expect([t, types.has(t)]).toEqual([t, true]);
    expect(analysis.totalMacs).toBe(pytorchMacs('byo_example_net.Net()', '3,32,32'));
    const cum = analysis.layers.find((l) => l.type === 'CumSum')!;
    expect(cum.macs).toBe(0);
  }, 120000);
});
