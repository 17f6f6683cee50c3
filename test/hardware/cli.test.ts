import { cliHarness, ROOT } from '../helpers/cli';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parse } from 'yaml';

/**
 * The real command line: `node bin/splitsim.js profile|calibrate ...`. Needs the build
 * (`npm test` runs tsc first).
 */
const { maybe, work, run: cli } = cliHarness('hw', 'src/cli/profile.js');

maybe('splitsim profile', () => {
  test('resnet50 on jetson-nano --json: 4.09 GMACs, per-layer times summing to totalMs, split points', () => {
    const r = cli(['profile', '--model', 'resnet50', '--device', 'jetson-nano', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(Math.abs(j.totalMacs / 4.09e9 - 1)).toBeLessThanOrEqual(0.01);
    const sum = j.layers.reduce((a: number, l: { timeMs: number }) => a + l.timeMs, 0);
    expect(sum).toBeCloseTo(j.totalMs, 9);
    for (const l of j.layers) for (const k of ['name', 'type', 'macs', 'params', 'outputBytes', 'timeMs']) expect(l).toHaveProperty(k);
    expect(j.splitPoints.length).toBeGreaterThan(10);
    expect(j.splitPoints[0]).toEqual(expect.objectContaining({ layer: expect.any(String), headMs: expect.any(Number), tailMs: expect.any(Number) }));
    expect(j.backend).toMatch(/wasm|cpu|tensorflow/);
  });

  test('table output, --batch, --input, --precision and --csv', () => {
    const csv = path.join(work, 'r18.csv');
    const r = cli(['profile', '--model', 'resnet18', '--device', 't4', '--batch', '4', '--input', '160', '--precision', 'fp16', '--csv', csv]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('input 160x160x3');
    expect(r.stdout).toContain('fp16, batch 4');
    const rows = fs.readFileSync(csv, 'utf8').trim().split('\n');
    expect(rows[0]).toBe('name,type,category,outputShape,macs,params,outputBytes,timeMs,cumulativeMs,bound,splitPoint,headMs,tailMs');
    expect(rows.length).toBe(1 + 69);
  });

  test('a model.json path is accepted', () => {
    // A tiny LayersModel saved as model.json + weights, the zoo format.
    const dir = path.join(work, 'tiny');
    fs.mkdirSync(dir, { recursive: true });
    const topology = {
      class_name: 'Sequential',
      config: { name: 'tiny', layers: [{ class_name: 'Dense', config: { name: 'd', units: 2, batch_input_shape: [null, 3], use_bias: true, activation: 'linear' } }] },
      keras_version: 'tfjs-layers 4.22.0',
      backend: 'tensor_flow.js',
    };
    const weights = new Float32Array([1, 2, 3, 4, 5, 6, 0.5, -0.5]);
    fs.writeFileSync(path.join(dir, 'w.bin'), Buffer.from(weights.buffer));
    fs.writeFileSync(
      path.join(dir, 'model.json'),
      JSON.stringify({
        format: 'layers-model',
        modelTopology: topology,
        weightsManifest: [{ paths: ['w.bin'], weights: [{ name: 'd/kernel', shape: [3, 2], dtype: 'float32' }, { name: 'd/bias', shape: [2], dtype: 'float32' }] }],
      }),
    );
    const r = cli(['profile', '--model', path.join(dir, 'model.json'), '--device', 'raspberry-pi-4', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.totalMacs).toBe(6);
    expect(j.layers.find((l: { name: string }) => l.name === 'd').params).toBe(8);
  });

  test('unknown device, unknown model, bad profile: exit 2 with a clear message', () => {
    let r = cli(['profile', '--model', 'resnet50', '--device', 'jetson-nanoo']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown device 'jetson-nanoo'");
    expect(r.stderr).toContain('jetson-nano, jetson-orin-nano');
    r = cli(['profile', '--model', 'resnet51', '--device', 'jetson-nano']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown model 'resnet51'");
    expect(r.stderr).toContain('resnet18, resnet50, mobilenetv2, vgg16, efficientnet-b0');
    const bad = path.join(work, 'bad.yaml');
    fs.writeFileSync(bad, fs.readFileSync(path.join(ROOT, 'profiles', 'jetson-nano.yaml'), 'utf8').replace('name: jetson-nano', 'name: bad').replace(/bandwidthGBps: [0-9.]+/, 'bandwidthGBps: -3'));
    r = cli(['profile', '--model', 'resnet50', '--device', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(bad);
    expect(r.stderr).toContain("field 'memory.bandwidthGBps'");
    r = cli(['profile', '--model', 'resnet50', '--device', 'jetson-nano', '--batch', '0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--batch');
  });
});

maybe('splitsim profile --runtime', () => {
  test('the runtime changes the prediction and is reported; JSON lists the declared runtimes', () => {
    const run = (rt: string) => JSON.parse(cli(['profile', '--model', 'resnet18', '--device', 'h200', '--runtime', rt, '--batch', '8', '--json']).stdout);
    const trt = run('tensorrt');
    const eager = run('pytorch-eager');
    expect(trt.runtime).toBe('tensorrt');
    expect(eager.runtime).toBe('pytorch-eager');
    expect(eager.runtimes).toEqual(['tensorrt', 'pytorch-cudagraph', 'pytorch-eager']);
    expect(eager.totalMs).toBeGreaterThan(2 * trt.totalMs);
    expect(eager.layers.find((l: { name: string }) => l.name === 'layer1.0.bn1').bound).not.toBe('fused');
    expect(trt.layers.find((l: { name: string }) => l.name === 'conv1').utilisation).toBeLessThan(1);
    const table = cli(['profile', '--model', 'resnet18', '--device', 'h200', '--runtime', 'pytorch-cudagraph']);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain('runtime pytorch-cudagraph (tensorrt | pytorch-cudagraph | pytorch-eager)');
  });

  test('an undeclared runtime, INT8 without hardware or runtime support, a bad profile: exit 2 naming file and field', () => {
    let r = cli(['profile', '--model', 'resnet18', '--device', 'h200', '--runtime', 'onnx']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(path.join(ROOT, 'profiles', 'h200.yaml'));
    expect(r.stderr).toContain("field 'runtimes': no runtime 'onnx' (declared runtimes: tensorrt, pytorch-cudagraph, pytorch-eager)");
    r = cli(['profile', '--model', 'resnet18', '--device', 'jetson-nano', '--precision', 'int8']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("jetson-nano.yaml: field 'compute.int8'");
    r = cli(['profile', '--model', 'resnet18', '--device', 'h200', '--runtime', 'pytorch-eager', '--precision', 'int8']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("field 'runtimes.pytorch-eager.precisions'");
    expect(cli(['profile', '--model', 'resnet18', '--device', 'agx-xavier', '--precision', 'int8', '--runtime', 'tensorrt']).code).toBe(0);
    const nano = fs.readFileSync(path.join(ROOT, 'profiles', 'jetson-nano.yaml'), 'utf8').replace('name: jetson-nano', 'name: bad2');
    const bad = path.join(work, 'bad2.yaml');
    fs.writeFileSync(bad, nano.replace(/minKernelMs: [0-9.]+/, 'minKernelMs: -0.002'));
    r = cli(['profile', '--model', 'resnet18', '--device', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${bad}: field 'overhead.minKernelMs'`);
    fs.writeFileSync(bad, nano.replace('runtime: torch2trt', 'runtime: turbo'));
    r = cli(['profile', '--model', 'resnet18', '--device', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${bad}: field 'runtime': 'turbo' is not a declared runtime`);
  });
});

maybe('splitsim calibrate', () => {
  test('writes a valid host profile to --out in well under 2 minutes', () => {
    const out = path.join(work, 'mybox.yaml');
    const t0 = Date.now();
    const r = cli(['calibrate', '--out', out]);
    expect(r.code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(120000);
    const p = parse(fs.readFileSync(out, 'utf8'));
    expect(p.name).toBe('mybox');
    expect(p.role).toBe('host');
    expect(p.compute.fp32.peakGflops).toBeGreaterThan(0);
    expect(p.calibration.backend).toMatch(/wasm|cpu|tensorflow/);
    // The written file is a usable profile.
    const q = cli(['profile', '--model', 'mobilenetv2', '--device', out, '--json']);
    expect(q.code).toBe(0);
    expect(JSON.parse(q.stdout).device).toBe('mybox');
  });
});
