/**
 * `splitsim calibrate --codecs`: times every codec setting of the registry's sweeps on this
 * host, on real data (Fashion-MNIST images at 28, 56, 112 and 224 px; the teacher's
 * activations at every split point; the latents of every model with a learned bottleneck), and
 * fits one linear CPU-time model per cost class (codecs/cost.ts). The result is data:
 * simulations read it and never a clock.
 */
import * as os from 'os';
import sharp from 'sharp';
import { stringify } from 'yaml';
import { createFeatureCodec, type CodecModelInfo, type FeatureCodecSpec } from '../codecs/feature';
import { decodeImage, encodeImage, type ImageCodecSpec } from '../codecs/image';
import { fitNonNegative, predictCostMs, type CodecCosts, type LinearCost } from '../codecs/cost';
import { CODECS, entryOf, specParamsOf, sweepSpecs, type CodecSpec } from '../codecs/registry';
import { loadFashionMnistTest } from '../data/fashion';
import { initBackend } from '../model/backend';
import { listZooModels, readZooMeta, ZOO_DIR } from '../model/meta';
import { measureSysbench } from '../hardware/sysbench';
import { UserError } from '../util/errors';
import { SPLITSIM_VERSION } from '../util/version';
import { loadZooRunner } from './zooRunner';

function cpuUs(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

function median(xs: number[]): number {
  const a = xs.slice().sort((x, y) => x - y);
  const m = a.length >> 1;
  return a.length % 2 ? a[m] : (a[m - 1] + a[m]) / 2;
}

/** One timed sample: regressors and the measured encode/decode CPU time (ms). */
interface Point {
  elements: number;
  bytes: number;
  encodeMs: number;
  decodeMs: number;
}

/**
 * Times fn by CPU time: repeats it until at least `minUs` of CPU has passed (fast codecs
 * take microseconds, below the clock's grain), `rounds` times, and returns the median per call.
 */
async function timeCall(fn: () => unknown, rounds: number, minUs: number): Promise<number> {
  const per: number[] = [];
  for (let r = 0; r < rounds; r++) {
    let n = 0;
    const t0 = cpuUs();
    let t1 = t0;
    do {
      await fn();
      n++;
      t1 = cpuUs();
    } while (t1 - t0 < minUs);
    per.push((t1 - t0) / n / 1000);
  }
  return median(per);
}

/** Options of a codec calibration. */
export interface CodecCalibrationOptions {
  /** Images per size (input codecs) and tensors per split point (feature codecs). */
  samples?: number;
  /** Host sysbench rate to record when sysbench is not installed. */
  hostSysbench?: number;
  log?: (msg: string) => void;
  zooDir?: string;
}

/** Fits one direction of a class; regressors [1, elements, bytes] (elements only when it varies). */
function fit(points: Point[], which: 'encodeMs' | 'decodeMs'): LinearCost {
  const varies = new Set(points.map((p) => p.elements)).size > 1;
  const rows = points.map((p) => (varies ? [1, p.elements, p.bytes] : [1, p.bytes]));
  const y = points.map((p) => p[which]);
  const c = fitNonNegative(rows, y);
  const model: LinearCost = {
    fixedUs: round(c[0] * 1000),
    perElementNs: varies ? round(c[1] * 1e6) : 0,
    perByteNs: round((varies ? c[2] : c[1]) * 1e6),
    points: points.length,
    medianRelError: 0,
  };
  model.medianRelError = round(median(points.map((p) => Math.abs(predictCostMs(model, p.elements, p.bytes) - p[which]) / p[which])));
  return model;
}

function round(x: number): number {
  return Number(x.toPrecision(4));
}

/** Runs the calibration and returns the cost file's content. */
export async function calibrateCodecs(opts: CodecCalibrationOptions = {}): Promise<Omit<CodecCosts, 'file'>> {
  const log = opts.log ?? (() => undefined);
  const n = opts.samples ?? 6;
  const zooDir = opts.zooDir ?? ZOO_DIR;
  const hostRate = measureSysbench() ?? opts.hostSysbench;
  if (hostRate === undefined) {
    throw new UserError("calibrate --codecs: sysbench is not installed (apt-get install sysbench); give the host's single-thread rate with --host-sysbench N");
  }
  const data = loadFashionMnistTest();
  const points = new Map<string, Point[]>();
  const add = (cls: string, p: Point) => {
    if (!points.has(cls)) points.set(cls, []);
    points.get(cls)!.push(p);
  };

  // Input codecs on images as a device would capture them, at four sizes.
  const images: Array<{ px: Uint8Array; w: number; h: number }> = [];
  for (let i = 0; i < n; i++) {
    const base = data.images.subarray(i * 784, (i + 1) * 784);
    for (const size of [28, 56, 112, 224]) {
      const px = size === 28 ? Uint8Array.from(base) : new Uint8Array(await sharp(base, { raw: { width: 28, height: 28, channels: 1 } })
        .resize(size, size, { kernel: 'lanczos3' }).toColourspace('b-w').raw().toBuffer());
      images.push({ px, w: size, h: size });
    }
  }
  for (const entry of CODECS.filter((e) => e.kind === 'input')) {
    for (const spec of sweepSpecs(entry) as ImageCodecSpec[]) {
      for (const img of images) {
        let bytes: Uint8Array = new Uint8Array(0);
        const encodeMs = await timeCall(async () => { bytes = await encodeImage(img.px, img.w, img.h, spec); }, 3, 2000);
        const decodeMs = await timeCall(() => decodeImage(bytes, img.w, img.h, spec), 3, 2000);
        add(entry.costClass(specParamsOf(spec)), { elements: img.w * img.h, bytes: bytes.length, encodeMs, decodeMs });
      }
    }
    log(`${entry.key}: ${entry.sweep.length} setting(s) x ${images.length} images`);
  }

  // Feature codecs on real tensors: the teacher's split outputs and the bottleneck latents.
  await initBackend();
  const zoo = listZooModels(zooDir);
  const imgs = data.images.subarray(0, n * 784);
  for (const name of zoo) {
    const meta = readZooMeta(`${zooDir}/${name}`);
    const runner = await loadZooRunner(name, zooDir);
    const info: CodecModelInfo = runner.codecInfo;
    const splits = meta.kind === 'teacher' ? meta.splitPoints : [meta.bottleneck!.layer];
    const heads = await runner.heads!(splits, imgs, n);
    for (const [split, head] of heads) {
      const size = head.shape.reduce((a, b) => a * b, 1);
      // The teacher: every generic feature codec; a model with a learned bottleneck: its own.
      const entries = CODECS.filter((e) => e.kind === 'feature' && (meta.kind === 'teacher' ? !e.needs : e.needs !== undefined && info[e.needs] !== undefined));
      for (const entry of entries) {
        for (const spec of sweepSpecs(entry) as FeatureCodecSpec[]) {
          const codec = createFeatureCodec(spec, info);
          for (let s = 0; s < n; s++) {
            const v = head.values.subarray(s * size, (s + 1) * size);
            let bytes: Uint8Array = new Uint8Array(0);
            // Synchronous coders are timed as they run, without a promise around each call.
            const a = codec.asyncCoder;
            const encodeMs = a
              ? await timeCall(async () => { bytes = await a.encode(v, head.shape); }, 3, 1000)
              : await timeCall(() => { bytes = codec.encode(v, head.shape); }, 3, 1000);
            const decodeMs = await timeCall(() => (a ? a.decode(bytes) : codec.decode(bytes)), 3, 1000);
            add(entry.costClass(specParamsOf(spec as CodecSpec)), { elements: size, bytes: bytes.length, encodeMs, decodeMs });
          }
        }
      }
      log(`${name}/${split}: feature codecs on ${n} tensors of ${size} values`);
    }
  }

  const classes: CodecCosts['classes'] = {};
  for (const [cls, pts] of [...points].sort(([a], [b]) => a.localeCompare(b))) classes[cls] = { encode: fit(pts, 'encodeMs'), decode: fit(pts, 'decodeMs') };
  // Every registered class must be covered (e.g. a zoo without students has no 'factorized').
  for (const e of CODECS) for (const s of sweepSpecs(e)) {
    const cls = entryOf(s).costClass(specParamsOf(s));
    if (!classes[cls]) log(`warning: no data for cost class '${cls}' (no model in the zoo uses it)`);
  }
  return {
    host: { description: `${os.cpus()[0]?.model?.trim() ?? 'unknown CPU'}, ${os.cpus().length} cores, node ${process.version}, sharp ${sharp.versions.vips ? `libvips ${sharp.versions.vips}` : ''}`.trim(), sysbenchEventsPerS: hostRate },
    clock: 'process CPU time (user+system, libvips threads included), median of 3 rounds',
    splitsimVersion: SPLITSIM_VERSION,
    classes,
  };
}

/** The YAML text of a cost file, with a header saying what made it. */
export function codecCostsYaml(c: Omit<CodecCosts, 'file'>): string {
  const header = [
    `# Codec CPU-time models written by 'splitsim calibrate --codecs' (splitsim ${c.splitsimVersion}).`,
    '# Per cost class and direction: t = fixedUs + perElementNs x elements + perByteNs x payloadBytes,',
    '# fitted (non-negative weighted least squares, relative error) on single-thread CPU time of',
    '# every setting of the registry sweeps: input codecs on Fashion-MNIST images at 28-224 px,',
    '# feature codecs on the zoo teacher\'s split outputs and the bottleneck latents.',
    '# Simulations scale these to a device by host.sysbenchEventsPerS / profile cpu.sysbenchEventsPerS.',
  ];
  return `${header.join('\n')}\n${stringify(c, { lineWidth: 0 })}`;
}
