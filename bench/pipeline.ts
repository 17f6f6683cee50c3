import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { createFeatureCodec, type FeatureCodecSpec } from '../src/codecs/feature';
import { loadFashionMnistTest } from '../src/data/fashion';
import { initBackend } from '../src/model/backend';
import { readZooIndex, DEFAULT_DATA_DIR, DEFAULT_ZOO_DIR } from '../src/measure/measure';
import { loadModelOnnxRunner, loadZooRunner } from '../src/measure/zooRunner';
import { loadOrt, ortError, ortVersion } from '../src/model/runtime';
import type { ModelRunner } from '../src/measure/run';
import { formatTable } from '../src/report/table';
import { PACKAGE_ROOT, SPLITSIM_VERSION } from '../src/util/version';

/**
 * `npm run bench -- pipeline [--n N] [--batch B] [--zoo DIR]`: images/s of splitsim's full
 * head -> encode -> decode -> tail loop (codecs, one thread) for a naive split of the teacher
 * and for a bottleneck student, on both model runtimes (tfjs and ONNX Runtime, each on one
 * thread), against the same teacher run whole in PyTorch on the CPU (bench/pipeline_peer.py,
 * rebuilt from the exported weights), all in the same run, with the ratios.
 */

interface Timed {
  name: string;
  imagesPerS: number;
  accuracy: number;
  preds: Int32Array;
}

function argValue(args: string[], flag: string, dflt: number): number {
  const i = args.indexOf(flag);
  return i >= 0 ? Number(args[i + 1]) : dflt;
}

async function timeWhole(runner: ModelRunner, images: Uint8Array, labels: Uint8Array, n: number, batch: number): Promise<Timed> {
  const preds = new Int32Array(n);
  await runner.classify(images.subarray(0, batch * 784), batch); // warm-up
  const t0 = process.hrtime.bigint();
  for (let s = 0; s < n; s += batch) {
    const b = Math.min(batch, n - s);
    preds.set(await runner.classify(images.subarray(s * 784, (s + b) * 784), b), s);
  }
  const sec = Number(process.hrtime.bigint() - t0) / 1e9;
  return { name: `${runner.name} whole model`, imagesPerS: n / sec, accuracy: accuracyOf(preds, labels), preds };
}

async function timeSplit(
  runner: ModelRunner,
  split: string,
  spec: FeatureCodecSpec,
  images: Uint8Array,
  labels: Uint8Array,
  n: number,
  batch: number,
): Promise<Timed> {
  const codec = createFeatureCodec(spec, runner.codecInfo);
  const preds = new Int32Array(n);
  const loop = async (s: number, b: number): Promise<Int32Array> => {
    const { shape, values } = await runner.head(split, images.subarray(s * 784, (s + b) * 784), b);
    const size = values.length / b;
    const decoded = new Float32Array(values.length);
    for (let k = 0; k < b; k++) {
      const bytes = codec.encode(values.subarray(k * size, (k + 1) * size), shape);
      decoded.set(codec.decode(bytes).values, k * size);
    }
    return runner.tailClassify(split, decoded, shape, b);
  };
  await loop(0, batch); // warm-up
  const t0 = process.hrtime.bigint();
  for (let s = 0; s < n; s += batch) {
    const b = Math.min(batch, n - s);
    preds.set(await loop(s, b), s);
  }
  const sec = Number(process.hrtime.bigint() - t0) / 1e9;
  const params = Object.entries(spec).filter(([k]) => k !== 'codec').map(([k, v]) => `${k}=${v}`).join(';');
  return {
    name: `${runner.name} ${split} -> ${spec.codec}${params ? `[${params}]` : ''} -> tail`,
    imagesPerS: n / sec,
    accuracy: accuracyOf(preds, labels),
    preds,
  };
}

function accuracyOf(preds: Int32Array, labels: Uint8Array): number {
  let c = 0;
  for (let i = 0; i < preds.length; i++) c += preds[i] === labels[i] ? 1 : 0;
  return c / preds.length;
}

/** Entry point for `npm run bench -- pipeline`. */
export async function main(args: string[]): Promise<void> {
  const n = argValue(args, '--n', 2000);
  const batch = argValue(args, '--batch', 100);
  const zooAt = args.indexOf('--zoo');
  const zooDir = zooAt >= 0 ? path.resolve(args[zooAt + 1]) : DEFAULT_ZOO_DIR;
  if (!fs.existsSync(path.join(zooDir, 'index.json'))) {
    process.stdout.write(`pipeline bench: no model zoo at ${zooDir}; export it first (training/)\n`);
    process.exitCode = 2;
    return;
  }
  const backend = await initBackend();
  const data = loadFashionMnistTest(DEFAULT_DATA_DIR);
  const images = data.images.subarray(0, n * 784);
  const labels = data.labels.subarray(0, n);
  const entries = readZooIndex(zooDir);
  const students = entries.filter((e) => e.meta.kind === 'student');
  const picked = [students[0], students[students.length - 1]].filter((x, i, a) => x && a.indexOf(x) === i);
  const hasOrt = loadOrt() !== undefined;
  const runtimes: { label: string; load: (name: string) => Promise<ModelRunner> }[] = [{ label: `tfjs ${backend}`, load: (m) => loadZooRunner(m, zooDir) }];
  if (hasOrt) {
    runtimes.push({ label: 'onnxruntime', load: (m) => loadModelOnnxRunner(m, path.join(zooDir, m), path.join(zooDir, m, 'model.onnx')) });
  }
  // Each runtime's rows, the same pipelines in the same order; runtimes alternate per pipeline so
  // a change in the machine's load during the run touches both alike.
  const byRuntime = runtimes.map(() => [] as Timed[]);
  const teachers = await Promise.all(runtimes.map((r) => r.load('teacher')));
  const timeAll = async (f: (runner: ModelRunner) => Promise<Timed>, runners: ModelRunner[]) => {
    for (const [k, runner] of runners.entries()) byRuntime[k].push(await f(runner));
  };
  await timeAll((t) => timeWhole(t, images, labels, n, batch), teachers);
  await timeAll((t) => timeSplit(t, 'stage2', { codec: 'quant', bits: 8, granularity: 'channel', entropy: 'rans' }, images, labels, n, batch), teachers);
  await timeAll((t) => timeSplit(t, 'stage1', { codec: 'quant', bits: 4, granularity: 'channel', entropy: 'rans' }, images, labels, n, batch), teachers);
  for (const st of picked) {
    const runners = await Promise.all(runtimes.map((r) => r.load(st.name)));
    await timeAll((x) => timeSplit(x, st.meta.bottleneck!.layer, { codec: 'factorized' }, images, labels, n, batch), runners);
  }
  const rows: Timed[] = byRuntime[0];

  const py = process.env.SPLITSIM_TORCH_PYTHON ?? '/usr/bin/python3';
  const peer = spawnSync(py, [path.join(PACKAGE_ROOT, 'bench', 'pipeline_peer.py'), path.join(zooDir, 'teacher'), DEFAULT_DATA_DIR, String(n), String(batch)], {
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  const ortLine = hasOrt ? `ONNX Runtime ${ortVersion()} (CPU execution provider, 1 thread)` : `ONNX Runtime not timed: ${ortError()}`;
  process.stdout.write(`splitsim ${SPLITSIM_VERSION} pipeline benchmark: ${n} test images, batches of ${batch}, tfjs backend ${backend} (1 thread), ${ortLine}, node ${process.version}\n\n`);
  process.stdout.write(
    formatTable(
      ['pipeline', 'runtime', 'images/s', 'ms/image', 'top-1 %'],
      rows.flatMap((_, i) => byRuntime.map((rs, k) => [rs[i].name, runtimes[k].label, rs[i].imagesPerS.toFixed(1), (1000 / rs[i].imagesPerS).toFixed(3), (rs[i].accuracy * 100).toFixed(2)])),
    ) + '\n\n',
  );
  const ort = byRuntime[1];
  if (ort) {
    const same = (a: Int32Array, b: Int32Array) => a.reduce((c, v, i) => c + (v === b[i] ? 1 : 0), 0);
    process.stdout.write(
      formatTable(
        ['pipeline', 'onnxruntime vs tfjs', 'predictions alike'],
        rows.map((r, i) => [r.name, `${(ort[i].imagesPerS / r.imagesPerS).toFixed(2)}x`, `${same(ort[i].preds, r.preds)}/${n}`]),
      ) + '\n\n',
    );
  }
  if (peer.status !== 0 || !peer.stdout.trim()) {
    process.stdout.write(`PyTorch peer (${py}) failed: ${(peer.stderr || peer.error?.message || '').trim().split('\n').slice(-3).join(' | ')}\n`);
    return;
  }
  const r = JSON.parse(peer.stdout.trim().split('\n').pop()!) as Record<string, number> & { preds: number[]; torch: string };
  const whole = rows[0];
  let agree = 0;
  for (let i = 0; i < n; i++) agree += r.preds[i] === whole.preds[i] ? 1 : 0;
  const t1 = r.images_per_s_one_thread;
  const tn = r.images_per_s_all_threads;
  process.stdout.write(`PyTorch ${r.torch} teacher on the CPU (same weights): ${t1.toFixed(1)} images/s on 1 thread, ${tn.toFixed(1)} on ${r.threads_all_threads} threads; predictions agree with tfjs on ${agree}/${n}\n\n`);
  process.stdout.write(
    formatTable(
      ['splitsim pipeline', 'runtime', 'vs PyTorch 1 thread', `vs PyTorch ${r.threads_all_threads} threads`],
      rows.flatMap((_, i) => byRuntime.map((rs, k) => [rs[i].name, runtimes[k].label, `${(rs[i].imagesPerS / t1).toFixed(2)}x`, `${(rs[i].imagesPerS / tn).toFixed(2)}x`])),
    ) + '\n',
  );
  if (ort) {
    const w = ort[0].imagesPerS;
    process.stdout.write(`\nteacher, whole model, 1 thread: ONNX Runtime ${w.toFixed(1)} images/s = ${(w / whole.imagesPerS).toFixed(2)}x tfjs ${backend}, ${(w / t1).toFixed(2)}x PyTorch\n`);
  }
}
