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
import { measureSysbench } from './sysbench';
import { analyzeModel } from '../model/analysis';
import { predictLayers, sumMs } from './cost';
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
  perInferenceMs: number;
  /** Single-thread sysbench rate, when sysbench is installed (the codec-time yardstick). */
  sysbenchEventsPerS?: number;
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
    // tidy frees the intermediates of multi-op benchmarks (relu6, swish, GDN) every call.
    const out = tf.tidy(fn);
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

/** Sums benchmark results (total FLOPs over total time is the set's achieved rate). */
function sumResults(rs: BenchResult[]): BenchResult {
  return rs.reduce((a, r) => ({ ms: a.ms + r.ms, flops: a.flops + r.flops, bytes: a.bytes + r.bytes, reps: a.reps + r.reps }), {
    ms: 0,
    flops: 0,
    bytes: 0,
    reps: 0,
  });
}

function bench(
  name: string,
  results: Record<string, BenchResult>,
  flops: number,
  bytes: number,
  fn: () => tf.Tensor,
  budgetMs?: number,
  minReps?: number,
): BenchResult {
  const { ms, reps } = timeMs(fn, budgetMs, minReps);
  const r = { ms, flops, bytes, reps };
  results[name] = r;
  return r;
}

/** The small CNN the per-layer overhead is fitted on (random weights). */
function smallNet(): tf.LayersModel {
  const x = tf.input({ shape: [28, 28, 1] });
  let y: tf.SymbolicTensor = x;
  const block = (filters: number): void => {
    y = tf.layers.conv2d({ filters, kernelSize: 3, padding: 'same', useBias: false }).apply(y) as tf.SymbolicTensor;
    y = tf.layers.batchNormalization({}).apply(y) as tf.SymbolicTensor;
    y = tf.layers.reLU({}).apply(y) as tf.SymbolicTensor;
  };
  for (let i = 0; i < 3; i++) block(16);
  y = tf.layers.maxPooling2d({ poolSize: 2 }).apply(y) as tf.SymbolicTensor;
  for (let i = 0; i < 3; i++) block(32);
  y = tf.layers.globalAveragePooling2d({}).apply(y) as tf.SymbolicTensor;
  y = tf.layers.dense({ units: 10 }).apply(y) as tf.SymbolicTensor;
  return tf.model({ inputs: x, outputs: y });
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

    // Per-layer overhead: a LayersModel of tiny conv -> batch norm -> ReLU blocks (the
    // commonest layer types, on a 2x2x8 tensor so arithmetic is negligible), time per layer.
    const blocks = 20;
    const depth = 3 * blocks;
    const xin = tf.input({ shape: [2, 2, 8] });
    let y: tf.SymbolicTensor = xin;
    for (let i = 0; i < blocks; i++) {
      y = tf.layers.conv2d({ filters: 8, kernelSize: 1, useBias: false }).apply(y) as tf.SymbolicTensor;
      y = tf.layers.batchNormalization({}).apply(y) as tf.SymbolicTensor;
      y = tf.layers.reLU({}).apply(y) as tf.SymbolicTensor;
    }
    const chainModel = tf.model({ inputs: xin, outputs: y });
    const xs = rnd([1, 2, 2, 8]);
    for (let i = 0; i < 20; i++) tf.dispose(chainModel.predict(xs) as tf.Tensor); // JIT warm-up
    const chain = bench('layerChain60', results, 0, 0, () => chainModel.predict(xs) as tf.Tensor, 600, 20);
    const chainPerLayerMs = chain.ms / depth;
    chainModel.dispose();
    // Per-inference overhead: predict() of a one-layer model, less that one layer.
    const oneLayer = tf.sequential({ layers: [tf.layers.reLU({ inputShape: [8] })] });
    const x8 = rnd([1, 8]);
    for (let i = 0; i < 20; i++) tf.dispose(oneLayer.predict(x8) as tf.Tensor);
    const single = bench('predict1layer', results, 0, 0, () => oneLayer.predict(x8) as tf.Tensor, 300, 20);
    const perInferenceMs = Math.max(0, single.ms - chainPerLayerMs);
    oneLayer.dispose();

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

    // Convolutions over the shapes CNN stages actually have (ResNet/VGG/MobileNet stages,
    // 56x56 down to 7x7, and the zoo's small layers): a kernel's efficiency depends on its
    // shape, so one favourable shape would overstate it. Each category's figure is the median
    // efficiency over its set.
    type ConvShape = [size: number, cin: number, cout: number, k: number, stride: number];
    const convSet = (name: string, shapes: ConvShape[], depthwise = false): BenchResult[] =>
      shapes.map(([size, cin, cout, k, stride]) => {
        const x = rnd([1, size, size, cin]) as tf.Tensor4D;
        const w = rnd(depthwise ? [k, k, cin, 1] : [k, k, cin, cout]) as tf.Tensor4D;
        const out = Math.ceil(size / stride);
        const f = depthwise ? 2 * out * out * cin * k * k : 2 * out * out * cin * cout * k * k;
        const b = (size * size * cin + out * out * (depthwise ? cin : cout) + k * k * cin * (depthwise ? 1 : cout)) * 4;
        return bench(`${name}_${size}x${size}x${cin}to${depthwise ? cin : cout}_k${k}s${stride}`, results, f, b, () =>
          depthwise ? tf.depthwiseConv2d(x, w, stride, 'same') : tf.conv2d(x, w, stride, 'same'), 150, 3);
      });
    // ImageNet-stage shapes and the small shapes of the 28x28 zoo models.
    const c33 = convSet('conv3x3', [[56, 64, 64, 3, 1], [28, 128, 128, 3, 1], [14, 256, 256, 3, 1], [7, 512, 512, 3, 1], [14, 32, 32, 3, 1], [7, 64, 64, 3, 1]]);
    const c11 = convSet('conv1x1', [[56, 64, 256, 1, 1], [56, 256, 64, 1, 1], [28, 512, 128, 1, 1], [14, 1024, 256, 1, 1], [7, 512, 2048, 1, 1], [7, 64, 64, 1, 1]]);
    const cs2 = convSet('conv_strided', [[224, 3, 64, 7, 2], [56, 128, 128, 3, 2], [56, 256, 512, 1, 2], [32, 1, 32, 5, 2], [16, 32, 64, 3, 2]]);
    const dw = convSet(
      'depthwise',
      [[112, 96, 96, 3, 2], [56, 144, 144, 3, 1], [28, 192, 192, 3, 1], [14, 576, 576, 3, 1], [7, 960, 960, 3, 1], [56, 144, 144, 5, 2], [14, 672, 672, 5, 1], [7, 1152, 1152, 5, 1]],
      true,
    );
    // Transposed convolutions (decoders): [input size, cin, cout, kernel, stride].
    const deconv: BenchResult[] = [];
    for (const [size, cin, cout, k, stride] of [[7, 64, 32, 4, 2], [14, 128, 64, 4, 2], [28, 64, 32, 3, 2]] as ConvShape[]) {
      const x = rnd([1, size, size, cin]) as tf.Tensor4D;
      const w = rnd([k, k, cout, cin]) as tf.Tensor4D;
      const out = size * stride;
      const f = 2 * size * size * cin * cout * k * k;
      const b = (size * size * cin + out * out * cout + k * k * cin * cout) * 4;
      const r = bench(`deconv_${size}x${size}x${cin}to${cout}_k${k}s${stride}`, results, f, b, () =>
        tf.conv2dTranspose(x, w, [1, out, out, cout], stride, 'same'), 150, 3);
      deconv.push(r);
    }
    // Dense at batch 1 streams its weights (16 MB here).
    const v = rnd([1, 2048]);
    const wd = rnd([2048, 2048]);
    const dense = bench('dense1x2048to2048', results, 2 * 2048 * 2048, 2048 * 2048 * 4, () => tf.matMul(v, wd));
    // GDN as the zoo computes it: x^2 mixed across channels by gamma, plus beta, sqrt, divide.
    const xg = rnd([1, 28, 28, 64]) as tf.Tensor4D;
    const gammaG = tf.abs(rnd([1, 1, 64, 64])) as tf.Tensor4D;
    keep.push(gammaG);
    const betaG = tf.tidy(() => tf.add(tf.abs(rnd([64])), 1));
    keep.push(betaG);
    const gdn = bench('gdn28x28x64', results, 2 * 28 * 28 * 64 * 64 + 4 * 28 * 28 * 64, 2 * 28 * 28 * 64 * 4, () =>
      tf.tidy(() => tf.div(xg, tf.sqrt(tf.add(tf.conv2d(tf.square(xg), gammaG, 1, 'same'), betaG)))),
    );
    const xp = rnd([1, 112, 112, 64]) as tf.Tensor4D;
    const pool = bench('maxpool3x3s2_112x112x64', results, 56 * 56 * 64 * 9, (112 * 112 + 56 * 56) * 64 * 4, () =>
      tf.maxPool(xp, 3, 2, 'same'),
    );
    const gap = bench('globalAvgPool56x56x256', results, nAct, nAct * 4, () => tf.mean(act, [1, 2]));
    const x64 = rnd([1, 56, 56, 64]) as tf.Tensor4D;
    bench('pad56x56x64', results, 0, (56 * 56 + 58 * 58) * 64 * 4, () =>
      tf.pad(x64, [[0, 0], [1, 1], [1, 1], [0, 0]]),
    );

    // Efficiency = achieved FLOP/s over the peak, after taking off one layer overhead
    // (the benchmarks call kernels directly; layers in a model pay the overhead separately).
    const kernelOverheadMs = Math.min(chainPerLayerMs, 0.02);
    const eff = (r: BenchResult): number => {
      const t = Math.max(r.ms - kernelOverheadMs, r.ms * 0.5);
      return Math.min(4, Math.max(1e-4, r.flops / t / 1e6 / peakGflops));
    };
    // A set of shapes: the median of their efficiencies, so large and small layers count alike.
    const effSet = (rs: BenchResult[]): number => median(rs.map(eff));
    const round = (x: number): number => Number(x.toPrecision(3));
    const efficiency = {
      conv: round(effSet([...c11, ...cs2])),
      conv3x3: round(effSet(c33)),
      deconv: round(effSet(deconv)),
      depthwise: round(effSet(dw)),
      dense: round(eff(dense)),
      gdn: round(eff(gdn)),
      normalization: round(eff(bn)),
      // One efficiency stands for all activations and merges: total FLOPs / total time over
      // the common ones, so the slow transcendental ones (swish) weigh in by their cost.
      elementwise: round(eff(sumResults([add, mul, relu, relu6, swish]))),
      pooling: round(Math.sqrt(eff(pool) * eff(gap))),
      // Copies have no arithmetic; their time is the memory term. Any value works here.
      data: round(median([eff(add), eff(relu)])),
    };
    // Per-layer overhead, fitted on a small CNN of the zoo's scale (28x28 input, 22 layers):
    // measured predict() time minus the predicted arithmetic and start-up, per layer. The
    // tiny-layer chain above gives only a floor: real layers also allocate and free tensors.
    const net = smallNet();
    const xn = rnd([1, 28, 28, 1]);
    for (let i = 0; i < 20; i++) tf.dispose(net.predict(xn) as tf.Tensor);
    const netMs = bench('smallNet28', results, 0, 0, () => net.predict(xn) as tf.Tensor, 800, 20).ms;
    const provisional = {
      name: 'calibration', description: '', role: 'host' as const, framework: '', defaultPrecision: 'fp32' as const,
      compute: { fp32: { peakGflops, efficiency } }, memory: { bandwidthGBps, efficiency: 1 },
      overhead: { perLayerMs: 0, perInferenceMs: 0 }, fusion: { batchNorm: false, activation: false, add: false, views: false },
      power: { activeW: 1, idleW: 0 },
    };
    const netAnalysis = analyzeModel(net);
    const arithmeticMs = sumMs(predictLayers(netAnalysis.layers, provisional));
    const launches = netAnalysis.layers.filter((l) => l.category !== 'input').reduce((a, l) => a + l.launches, 0);
    net.dispose();
    const perLayerMs = Math.max(chainPerLayerMs, (netMs - arithmeticMs - perInferenceMs) / launches);
    log(`per-layer overhead: ${(perLayerMs * 1000).toFixed(1)} us (floor ${(chainPerLayerMs * 1000).toFixed(1)}), per-inference ${(perInferenceMs * 1000).toFixed(1)} us`);
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
      perInferenceMs: round(perInferenceMs),
      sysbenchEventsPerS: measureSysbench(),
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
    overhead: { perLayerMs: result.perLayerMs, perInferenceMs: result.perInferenceMs },
    fusion: { batchNorm: false, activation: false, add: false, views: false },
    // tfjs cannot read power; a typical figure for one busy server core, not measured.
    power: { activeW: 15, idleW: 5 },
    ...(result.sysbenchEventsPerS !== undefined
      ? { cpu: { sysbenchEventsPerS: result.sysbenchEventsPerS, source: 'measured: sysbench 1.0.20 cpu --threads=1 --time=5 on this machine, by splitsim calibrate' } }
      : {}),
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
    '#   kernel overhead), median over sets of shapes (ImageNet stages 56x56 down to 7x7 and the',
    '#   small zoo layers; see calibration.benchmarks): conv = 1x1 and strided convs; conv3x3 =',
    '#   3x3 stride-1 convs; deconv = stride-2 transposed convs (decoder shapes); depthwise =',
    '#   3x3 and 5x5 depthwise convs; dense = 1x2048 by 2048x2048; gdn = square, 1x1 channel',
    '#   mixing, add, sqrt, divide on 28x28x64; normalization = tf.batchNorm on 56x56x256;',
    '#   elementwise = add, multiply, relu, relu6 and swish on 56x56x256 together; pooling =',
    '#   geometric mean of a 3x3/2 max pool on 112x112x64 and a global average pool on',
    '#   56x56x256; data = median of add and relu (copies are priced by the memory term).',
    '# - memory.bandwidthGBps: best bytes/s of the activation-sized add and relu (efficiency 1).',
    '# - overhead.perLayerMs: fitted on a small 28x28 CNN (22 layers): its predict() time minus',
    '#   the predicted arithmetic and start-up, per kernel launch (GDN runs 7, the quantizer 3;',
    '#   see LayerAnalysis.launches); at least the per-layer time of 60 trivial layers.',
    '# - overhead.perInferenceMs: predict() time of a one-layer model, less one trivial layer.',
    '# - power: not measurable from tfjs; a typical figure for one busy server core (assumed).',
    '# - cpu.sysbenchEventsPerS: `sysbench cpu --threads=1` on this machine (when installed).',
    '',
  ].join('\n');
  return header + stringify(profile, { lineWidth: 0 });
}
