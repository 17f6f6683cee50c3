/**
 * Measures this machine with tfjs micro-benchmarks and turns the results into a `host`
 * hardware profile: the matmul rate is the peak, each layer category's efficiency is its
 * benchmark's achieved FLOP/s divided by that peak, the memory bandwidth is what an
 * activation-sized elementwise op achieves, and the per-layer overhead is what a
 * LayersModel spends per trivial layer. The backend is whatever initBackend() picks.
 */
import * as os from 'os';
import { stringify } from 'yaml';
import { initBackend, tf, type BackendName } from '../model/backend';
import { SPLITSIM_VERSION } from '../util/version';
import type { Efficiency, HardwareProfile } from './profile';

/** One micro-benchmark result. */
export interface BenchResult {
  /** Median time of one call over the repeats, ms (benchClock()). */
  ms: number;
  /** FLOPs of one call (analysis convention: 2 per MAC, 1 per elementwise op). */
  flops: number;
  /** Bytes one call reads and writes (fp32). */
  bytes: number;
  reps: number;
}

/** Everything `splitsim calibrate` measured. */
export interface CalibrationResult {
  backend: BackendName;
  clock: 'process-cpu' | 'wall';
  cpu: string;
  cores: number;
  tfjsVersion: string;
  splitsimVersion: string;
  measuredAt: string;
  durationMs: number;
  peakGflops: number;
  bandwidthGBps: number;
  perLayerMs: number;
  efficiency: Efficiency;
  benchmarks: Record<string, BenchResult>;
}

/** Median of a list of numbers. */
function median(xs: number[]): number {
  const a = xs.slice().sort((x, y) => x - y);
  const m = a.length >> 1;
  return a.length % 2 ? a[m] : (a[m - 1] + a[m]) / 2;
}

/**
 * The clock benchmarks use. The wasm and cpu backends run every kernel on the calling
 * thread, so the process's CPU time is the kernel time without the time spent waiting for
 * a core; on a shared machine (this one runs other jobs) that is far steadier than wall
 * time, and on an idle machine the two agree. Multi-threaded backends need wall time.
 */
export function benchClock(): { name: 'process-cpu' | 'wall'; nowMs: () => number } {
  const backend = tf.getBackend();
  if (backend === 'wasm' || backend === 'cpu') {
    return {
      name: 'process-cpu',
      nowMs: () => {
        const u = process.cpuUsage();
        return (u.user + u.system) / 1000;
      },
    };
  }
  return { name: 'wall', nowMs: () => performance.now() };
}

/**
 * Times fn (which returns tensors that are disposed after each call) with benchClock():
 * two warm-up calls, then repeats until budgetMs of that clock is spent (at least minReps).
 * Returns the median and the minimum.
 */
export function timeMs(
  fn: () => tf.Tensor | tf.Tensor[],
  budgetMs = 300,
  minReps = 5,
  maxReps = 200,
): { ms: number; minMs: number; reps: number } {
  const clock = benchClock();
  const run = (): number => {
    const t0 = clock.nowMs();
    const out = fn();
    const t1 = clock.nowMs();
    tf.dispose(out);
    return t1 - t0;
  };
  run();
  run();
  const times: number[] = [];
  const start = clock.nowMs();
  while (times.length < minReps || (clock.nowMs() - start < budgetMs && times.length < maxReps)) times.push(run());
  return { ms: median(times), minMs: Math.min(...times), reps: times.length };
}

function bench(name: string, results: Record<string, BenchResult>, flops: number, bytes: number, fn: () => tf.Tensor, budgetMs?: number): BenchResult {
  const { ms, reps } = timeMs(fn, budgetMs);
  const r = { ms, flops, bytes, reps };
  results[name] = r;
  return r;
}

/** Runs the micro-benchmarks (about 10-20 s on a laptop core) and derives the host figures. */
export async function runCalibration(log: (msg: string) => void = () => undefined): Promise<CalibrationResult> {
  const backend = await initBackend();
  const started = performance.now();
  const results: Record<string, BenchResult> = {};
  const keep: tf.Tensor[] = [];
  const rnd = (shape: number[]): tf.Tensor => {
    const t = tf.randomUniform(shape, -1, 1, 'float32', 7);
    keep.push(t);
    return t;
  };
  try {
    // Peak: a large square matmul, the best case for every backend's GEMM.
    const n = 768;
    const a = rnd([n, n]);
    const b = rnd([n, n]);
    const mm = bench('matmul768', results, 2 * n ** 3, 3 * n * n * 4, () => tf.matMul(a, b), 800);
    const peakGflops = mm.flops / mm.ms / 1e6;
    log(`matmul ${n}^3: ${mm.ms.toFixed(2)} ms, ${peakGflops.toFixed(2)} GFLOP/s`);

    // Per-layer overhead: a LayersModel of trivial layers, time per layer.
    const depth = 60;
    const seq = tf.sequential();
    seq.add(tf.layers.reLU({ inputShape: [8] }));
    for (let i = 1; i < depth; i++) seq.add(tf.layers.reLU({}));
    const xs = rnd([1, 8]);
    const chain = bench('layerChain60', results, depth * 8, 0, () => seq.predict(xs) as tf.Tensor, 400);
    const perLayerMs = chain.ms / depth;
    seq.dispose();
    log(`per-layer overhead: ${(perLayerMs * 1000).toFixed(1)} us`);

    // Activation-sized tensors (ResNet stage 1): the bandwidth layers actually see.
    const act = rnd([1, 56, 56, 256]);
    const act2 = rnd([1, 56, 56, 256]);
    const nAct = 56 * 56 * 256;
    const add = bench('add56x56x256', results, nAct, 3 * nAct * 4, () => tf.add(act, act2));
    const relu = bench('relu56x56x256', results, nAct, 2 * nAct * 4, () => tf.relu(act));
    const relu6 = bench('relu6_56x56x256', results, 2 * nAct, 2 * nAct * 4, () => tf.clipByValue(tf.relu(act), 0, 6));
    const swish = bench('swish56x56x256', results, 5 * nAct, 2 * nAct * 4, () => tf.tidy(() => tf.mul(act, tf.sigmoid(act))));
    const mul = bench('mul56x56x256', results, nAct, 3 * nAct * 4, () => tf.mul(act, act2));
    const bandwidthGBps = Math.max(add.bytes / add.ms, relu.bytes / relu.ms) / 1e6;
    log(`elementwise bandwidth: ${bandwidthGBps.toFixed(2)} GB/s`);
    const mean = rnd([256]);
    const variance = tf.abs(rnd([256]));
    keep.push(variance);
    const beta = rnd([256]);
    const gamma = rnd([256]);
    const bn = bench('batchNorm56x56x256', results, 2 * nAct, 2 * nAct * 4, () =>
      tf.batchNorm(act as tf.Tensor4D, mean, variance, beta, gamma, 1e-5),
    );

    // Convolutions at ResNet/MobileNet stage-1 shapes.
    const x64 = rnd([1, 56, 56, 64]) as tf.Tensor4D;
    const w33 = rnd([3, 3, 64, 64]) as tf.Tensor4D;
    const w11 = rnd([1, 1, 64, 256]) as tf.Tensor4D;
    const c33 = bench('conv3x3_56x56x64to64', results, 2 * 56 * 56 * 64 * 64 * 9, (56 * 56 * 128 + 9 * 64 * 64) * 4, () =>
      tf.conv2d(x64, w33, 1, 'same'),
    );
    const c11 = bench('conv1x1_56x56x64to256', results, 2 * 56 * 56 * 64 * 256, (56 * 56 * 320 + 64 * 256) * 4, () =>
      tf.conv2d(x64, w11, 1, 'same'),
    );
    const x128 = rnd([1, 56, 56, 128]) as tf.Tensor4D;
    const w33s2 = rnd([3, 3, 128, 128]) as tf.Tensor4D;
    const c33s2 = bench('conv3x3s2_56x56x128to128', results, 2 * 28 * 28 * 128 * 128 * 9, (56 * 56 * 128 + 28 * 28 * 128) * 4, () =>
      tf.conv2d(x128, w33s2, 2, 'same'),
    );
    const x144 = rnd([1, 56, 56, 144]) as tf.Tensor4D;
    const wdw = rnd([3, 3, 144, 1]) as tf.Tensor4D;
    const dw = bench('depthwise3x3_56x56x144', results, 2 * 56 * 56 * 144 * 9, 2 * 56 * 56 * 144 * 4, () =>
      tf.depthwiseConv2d(x144, wdw, 1, 'same'),
    );
    // Dense at batch 1 streams its weights (16 MB here).
    const v = rnd([1, 2048]);
    const wd = rnd([2048, 2048]);
    const dense = bench('dense1x2048to2048', results, 2 * 2048 * 2048, 2048 * 2048 * 4, () => tf.matMul(v, wd));
    // GDN as the zoo computes it: x^2 mixed across channels by gamma, plus beta, sqrt, divide.
    const xg = rnd([1, 28, 28, 64]) as tf.Tensor4D;
    const gammaG = tf.abs(rnd([1, 1, 64, 64])) as tf.Tensor4D;
    keep.push(gammaG);
    const betaG = tf.add(tf.abs(rnd([64])), 1);
    keep.push(betaG);
    const gdn = bench('gdn28x28x64', results, 2 * 28 * 28 * 64 * 64 + 4 * 28 * 28 * 64, 2 * 28 * 28 * 64 * 4, () =>
      tf.tidy(() => tf.div(xg, tf.sqrt(tf.add(tf.conv2d(tf.square(xg), gammaG, 1, 'same'), betaG)))),
    );
    const xp = rnd([1, 112, 112, 64]) as tf.Tensor4D;
    const pool = bench('maxpool3x3s2_112x112x64', results, 56 * 56 * 64 * 9, (112 * 112 + 56 * 56) * 64 * 4, () =>
      tf.maxPool(xp, 3, 2, 'same'),
    );
    const gap = bench('globalAvgPool56x56x256', results, nAct, nAct * 4, () => tf.mean(act, [1, 2]));
    bench('pad56x56x64', results, 0, (56 * 56 + 58 * 58) * 64 * 4, () =>
      tf.pad(x64, [[0, 0], [1, 1], [1, 1], [0, 0]]),
    );

    // Efficiency = achieved FLOP/s over the peak, after taking off one layer overhead
    // (the benchmarks call kernels directly; layers in a model pay the overhead separately).
    const kernelOverheadMs = Math.min(perLayerMs, 0.02);
    const eff = (r: BenchResult): number => {
      const t = Math.max(r.ms - kernelOverheadMs, r.ms * 0.5);
      return Math.min(4, Math.max(1e-4, r.flops / t / 1e6 / peakGflops));
    };
    const round = (x: number): number => Number(x.toPrecision(3));
    const efficiency = {
      conv: round(Math.sqrt(eff(c11) * eff(c33s2))),
      conv3x3: round(eff(c33)),
      depthwise: round(eff(dw)),
      dense: round(eff(dense)),
      gdn: round(eff(gdn)),
      normalization: round(eff(bn)),
      // One efficiency stands for all activations and merges: the median over the common ones.
      elementwise: round(median([eff(add), eff(mul), eff(relu), eff(relu6), eff(swish)])),
      pooling: round(Math.sqrt(eff(pool) * eff(gap))),
      // Copies have no arithmetic; their time is the memory term. Any value works here.
      data: round(median([eff(add), eff(relu)])),
    };
    return {
      backend,
      clock: benchClock().name,
      cpu: os.cpus()[0]?.model ?? 'unknown',
      cores: os.cpus().length,
      tfjsVersion: tf.version.tfjs,
      splitsimVersion: SPLITSIM_VERSION,
      measuredAt: new Date().toISOString(),
      durationMs: performance.now() - started,
      peakGflops: round(peakGflops),
      bandwidthGBps: round(bandwidthGBps),
      perLayerMs: round(perLayerMs),
      efficiency,
      benchmarks: results,
    };
  } finally {
    tf.dispose(keep);
  }
}

/** The host profile built from a calibration, as a validated profile object. */
export function hostProfile(result: CalibrationResult, name = 'host'): HardwareProfile {
  return {
    name,
    description: `this machine (${result.cpu}, ${result.cores} cores) running tfjs ${result.tfjsVersion} on the ${result.backend} backend`,
    role: 'host',
    framework: `tfjs ${result.tfjsVersion} LayersModel.predict, ${result.backend} backend, batch 1, no layer fusion`,
    defaultPrecision: 'fp32',
    compute: { fp32: { peakGflops: result.peakGflops, efficiency: result.efficiency } },
    memory: { bandwidthGBps: result.bandwidthGBps, efficiency: 1 },
    overhead: { perLayerMs: result.perLayerMs },
    fusion: { batchNorm: false, activation: false, add: false, views: false },
    // tfjs cannot read power; a typical figure for one busy server core, not measured.
    power: { activeW: 15, idleW: 5 },
    calibration: {
      backend: result.backend,
      clock: result.clock,
      cpu: result.cpu,
      cores: result.cores,
      tfjsVersion: result.tfjsVersion,
      splitsimVersion: result.splitsimVersion,
      measuredAt: result.measuredAt,
      durationMs: Math.round(result.durationMs),
      benchmarks: Object.fromEntries(
        Object.entries(result.benchmarks).map(([k, r]) => [
          k,
          { ms: Number(r.ms.toFixed(4)), gflops: Number((r.flops / r.ms / 1e6).toFixed(3)), reps: r.reps },
        ]),
      ),
    },
  };
}

/** YAML text of a host profile, with comments saying where every number comes from. */
export function hostProfileYaml(profile: HardwareProfile): string {
  const header = [
    `# Host profile written by 'splitsim calibrate' (splitsim ${SPLITSIM_VERSION}). Every number is measured`,
    '# here with tfjs micro-benchmarks (raw results under calibration.benchmarks):',
    '# Times are medians of repeats on the clock named in calibration.clock (process CPU time',
    '# for the single-threaded wasm/cpu backends, so other jobs on the machine do not inflate them).',
    '# - compute.fp32.peakGflops: rate of a 768x768x768 matmul (tf.matMul).',
    '# - efficiency.<category>: achieved FLOP/s of that category\'s benchmark / peak (after one',
    '#   kernel overhead): conv = geometric mean of a 1x1 conv (56x56, 64->256) and a 3x3',
    '#   stride-2 conv (56x56, 128->128); conv3x3 = 3x3 stride-1 conv (56x56, 64->64);',
    '#   depthwise = 3x3 on 56x56x144; dense = 1x2048 by 2048x2048; gdn = square, 1x1 channel',
    '#   mixing, add, sqrt, divide on 28x28x64; normalization = tf.batchNorm on 56x56x256;',
    '#   elementwise = median of add, multiply, relu, relu6 and swish on 56x56x256; pooling =',
    '#   geometric mean of a 3x3/2 max pool on 112x112x64 and a global average pool on',
    '#   56x56x256; data = median of add and relu (copies are priced by the memory term).',
    '# - memory.bandwidthGBps: best bytes/s of the activation-sized add and relu (efficiency 1).',
    '# - overhead.perLayerMs: LayersModel.predict time of a chain of 60 ReLU layers / 60.',
    '# - power: not measurable from tfjs; a typical figure for one busy server core (assumed).',
    '',
  ].join('\n');
  return header + stringify(profile, { lineWidth: 0 });
}
