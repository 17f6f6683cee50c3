import * as fs from 'fs';
import * as path from 'path';
import { cliHarness } from '../helpers/cli';
import { writeLabelledFolder } from '../data/helpers';
import { ZOO_DIR } from '../../src/model/meta';
import { decodeModel, encodeModel } from '../../src/model/onnx-proto';

/**
 * ONNX models through the real command line: a .onnx file brought on its own (split points
 * from its graph) measured, listed and profiled; the fallback to tfjs where onnxruntime-node
 * cannot load; and bad files, which exit 2 naming the file and what was expected.
 */
const { maybe, work, run } = cliHarness('onnx', 'src/cli/measure.js');
const env = (extra: NodeJS.ProcessEnv = {}) => ({ env: { ...process.env, SPLITSIM_CACHE_DIR: path.join(work, 'cache'), ...extra } });
const csvRows = (f: string) => fs.readFileSync(f, 'utf8').trim().split('\n').map((l) => l.split(','));

maybe('ONNX models on the command line', () => {
  const net = path.join(work, 'byo', 'net.onnx');
  beforeAll(() => {
    fs.mkdirSync(path.dirname(net), { recursive: true });
    fs.copyFileSync(path.join(ZOO_DIR, 'teacher', 'model.onnx'), net);
  });

  test('measure --model FILE.onnx: split points from the graph, every candidate measured on ONNX Runtime', () => {
    const r = run(['measure', '--model', net, '--samples', '30', '--out', 'byo-out'], env());
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toMatch(/ONNX Runtime \(onnxruntime-node 1\.30\.\d+, CPU\)/);
    const rows = csvRows(path.join(work, 'byo-out', 'measurements.csv'));
    const head = rows[0];
    const splits = new Set(rows.slice(1).map((x) => x[head.indexOf('split')]));
    // Candidates: cuts that send fewer values than the input (784) and every earlier candidate; only
    // the pooled vector (64) does, as for the teacher's LayersModel without its meta.json.
    expect([...splits]).toEqual(['device-only', 'input', 'pool']);
    expect(new Set(rows.slice(1).map((x) => x[head.indexOf('backend')]))).toEqual(new Set(['onnxruntime']));
    expect(rows.slice(1).every((x) => x[head.indexOf('model')] === 'net')).toBe(true);
    const j = JSON.parse(fs.readFileSync(path.join(work, 'byo-out', 'measurements.json'), 'utf8'));
    expect(j.backend).toBe('onnxruntime');
    const p = run(['pipelines', '--model', net], env());
    expect(p.code).toBe(0);
    expect(p.stdout).toContain('net (teacher)');
    const prof = run(['profile', '--model', net, '--device', 'raspberry-pi-4'], env());
    expect([prof.code, prof.stderr]).toEqual([0, '']);
    expect(prof.stdout).toMatch(/pool/);
  }, 120000);

  test('where onnxruntime-node cannot load, the zoo runs on tfjs with one line saying so; an ONNX-only model exits 2', () => {
    const noOrt = env({ SPLITSIM_ONNXRUNTIME_MODULE: path.join(work, 'no-such-module') });
    const r = run(['measure', '--models', 'teacher', '--samples', '20', '--out', 'fallback', '--workers', '2'], noOrt);
    expect(r.code).toBe(0);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^splitsim: onnxruntime-node cannot be loaded \(Cannot find module .*no-such-module.*\); running models on tfjs$/);
    const rows = csvRows(path.join(work, 'fallback', 'measurements.csv'));
    expect(new Set(rows.slice(1).map((x) => x[rows[0].indexOf('backend')]))).toEqual(new Set([JSON.parse(fs.readFileSync(path.join(work, 'fallback', 'measurements.json'), 'utf8')).backend]));
    expect(rows[1][rows[0].indexOf('backend')]).toMatch(/^(wasm|cpu|tensorflow)$/);
    const o = run(['measure', '--model', net, '--samples', '20', '--out', 'x'], noOrt);
    expect(o.code).toBe(2);
    expect(o.stderr).toContain(`${net}: an ONNX model needs onnxruntime-node, which cannot be loaded here`);
  }, 120000);

  test('a corrupt file, an unsupported opset and an input-shape mismatch exit 2 naming the file and what was expected', async () => {
    const bad = path.join(work, 'bad');
    fs.mkdirSync(bad, { recursive: true });
    const corrupt = path.join(bad, 'corrupt.onnx');
    fs.writeFileSync(corrupt, fs.readFileSync(net).subarray(0, 5000));
    const m = decodeModel(fs.readFileSync(net));
    m.opsetImport[0].version = 99;
    const opset = path.join(bad, 'opset99.onnx');
    fs.writeFileSync(opset, encodeModel(m));
    for (const [file, want] of [[corrupt, 'not an ONNX model ('], [opset, 'opset 99 (domain ai.onnx) is not supported: expected opset 7 to 26']]) {
      for (const args of [['measure', '--model', file, '--samples', '10', '--out', 'no'], ['profile', '--model', file, '--device', 'raspberry-pi-4']]) {
        const r = run(args, env());
        expect([args[0], r.code]).toEqual([args[0], 2]);
        expect(r.stderr).toContain(`${file}: ${want}`);
      }
    }
    const images = path.join(work, 'images');
    await writeLabelledFolder(images, 3, 2);
    const r = run(['measure', '--model', net, '--data', images, '--labels', 'labels.txt', '--crop', '32', '--out', 'no'], env());
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${net}: model input is 28x28x1, but the dataset gives 32x32x3 images`);
    expect(fs.existsSync(path.join(work, 'no'))).toBe(false);
  }, 120000);
});
