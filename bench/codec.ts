import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import { createFeatureCodec, FactorizedCodec } from '../src/codecs/feature';
import { loadFashionMnistTest } from '../src/data/fashion';
import { initBackend } from '../src/model/backend';
import { DEFAULT_DATA_DIR, DEFAULT_ZOO_DIR, readZooIndex } from '../src/measure/measure';
import { loadZooRunner } from '../src/measure/zooRunner';
import { buildHistogramModel, histogramTable, readHistogramModel } from '../src/codecs/histogram';
import { packBits, quantize, unpackBits } from '../src/codecs/quantize';
import { RansTable, ransDecode, ransEncode } from '../src/codecs/rans';
import { Rng } from '../src/engine/rng';
import { formatTable } from '../src/report/table';
import { SPLITSIM_VERSION } from '../src/util/version';

/**
 * `npm run bench -- codec [--reps N] [--synthetic] [--zoo DIR]`: throughput of splitsim's rANS coder
 * against Node's zlib (deflate, brotli) on the same quantised tensors, with compression
 * ratios. Each tensor is coded on its own, as a pipeline sends it. Tensors are real head
 * outputs of the model zoo when it is present (teacher split points, student latents),
 * otherwise synthetic Laplacian-like ReLU activations.
 */

/** A set of tensors quantised to symbols, coded one tensor at a time. */
export interface TensorSet {
  name: string;
  /** Bits per symbol (alphabet 2^bits), for packing and MB/s. */
  bits: number;
  /** Unsigned symbols (what the histogram model and zlib code). */
  tensors: Uint8Array[];
  /** The static-model measurement: a fixed table and the symbols it codes. */
  table: RansTable;
  staticSymbols: ArrayLike<number>[];
}

interface Row {
  set: string;
  method: string;
  symbols: number;
  payload: number;
  encS: number;
  decS: number;
  ratio: number;
  encMsym: number;
  decMsym: number;
  encMBs: number;
  decMBs: number;
}

function timeBest(reps: number, f: () => void): number {
  let best = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = process.hrtime.bigint();
    f();
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return best;
}

/** A static table for a set: its pooled histogram at full precision, every symbol >= 1. */
export function pooledTable(tensors: Uint8Array[], bits: number): RansTable {
  const counts = new Float64Array(1 << bits).fill(0.5);
  for (const t of tensors) for (let i = 0; i < t.length; i++) counts[t[i]]++;
  const total = counts.reduce((a, b) => a + b, 0);
  const f = Array.from(counts, (c) => Math.max(1, Math.round((c / total) * (65536 - counts.length))));
  const sum = f.reduce((a, b) => a + b, 0);
  f[f.indexOf(Math.max(...f))] += 65536 - sum;
  return new RansTable([0], [f], false);
}

/** Synthetic ReLU activations: ~half zeros, Laplacian magnitudes whose scale varies by channel. */
function syntheticSets(): TensorSet[] {
  const rng = new Rng(1, 'bench-codec');
  const sets: TensorSet[] = [];
  for (const [name, shape] of [
    ['synthetic 14x14x32', [14, 14, 32]],
    ['synthetic 7x7x64', [7, 7, 64]],
  ] as Array<[string, number[]]>) {
    for (const bits of [8, 4]) {
      const tensors: Uint8Array[] = [];
      const C = shape[2];
      for (let t = 0; t < 200; t++) {
        const x = new Float32Array(shape[0] * shape[1] * C);
        for (let i = 0; i < x.length; i++) {
          const scale = 0.3 + (i % C) / C;
          x[i] = rng.uniform() < 0.5 ? 0 : rng.exponential(scale);
        }
        tensors.push(quantize(x, shape, bits, 'tensor').symbols);
      }
      sets.push({ name: `${name} q${bits}`, bits, tensors, table: pooledTable(tensors, bits), staticSymbols: tensors });
    }
  }
  return sets;
}

/**
 * Real head outputs of the zoo on the first 256 test images: the teacher's activations at
 * three split points (quantised as the naive-split codecs do) and the latents of the
 * smallest and largest students (their integer symbols, statically coded with the learned
 * prior). Empty when there is no zoo.
 */
async function realTensorSets(zooDir: string): Promise<TensorSet[]> {
  if (!fs.existsSync(path.join(zooDir, 'index.json'))) return [];
  await initBackend();
  const data = loadFashionMnistTest(DEFAULT_DATA_DIR);
  const n = 256;
  const images = data.images.subarray(0, n * 784);
  const sets: TensorSet[] = [];
  const teacher = await loadZooRunner('teacher', zooDir);
  for (const [split, bits, granularity] of [['stage1', 8, 'channel'], ['stage2', 8, 'channel'], ['stage2', 4, 'tensor'], ['stage3', 8, 'channel']] as const) {
    const { shape, values } = await teacher.head(split, images, n);
    const size = values.length / n;
    const tensors: Uint8Array[] = [];
    for (let k = 0; k < n; k++) tensors.push(quantize(values.subarray(k * size, (k + 1) * size), shape, bits, granularity).symbols);
    sets.push({ name: `teacher ${split} [${shape.join('x')}] q${bits}/${granularity}`, bits, tensors, table: pooledTable(tensors, bits), staticSymbols: tensors });
  }
  const students = readZooIndex(zooDir).filter((e) => e.meta.kind === 'student');
  for (const s of [students[0], students[students.length - 1]].filter((x, i, a) => x && a.indexOf(x) === i)) {
    const runner = await loadZooRunner(s.name, zooDir);
    const codec = createFeatureCodec({ codec: 'factorized' }, runner.codecInfo) as FactorizedCodec;
    const { shape, values } = await runner.head(s.meta.bottleneck!.layer, images, n);
    const size = values.length / n;
    const sym: Int32Array[] = [];
    for (let k = 0; k < n; k++) sym.push(codec.symbols(values.subarray(k * size, (k + 1) * size)));
    // zlib and the histogram model get the same symbols offset to bytes.
    let lo = Infinity;
    let hi = -Infinity;
    for (const t of sym) for (const v of t) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    if (hi - lo > 255) continue;
    const tensors = sym.map((t) => Uint8Array.from(t, (v) => v - lo));
    sets.push({ name: `${s.name} latent [${shape.join('x')}]`, bits: 8, tensors, table: codec.table, staticSymbols: sym });
  }
  return sets;
}

function measureSet(set: TensorSet, reps: number): Row[] {
  const { tensors, bits } = set;
  const nSym = tensors.reduce((a, t) => a + t.length, 0);
  const rawBytes = nSym; // one byte per symbol as produced by the quantiser
  const rows: Row[] = [];
  const add = (method: string, payload: number, encS: number, decS: number): void => {
    rows.push({
      set: set.name,
      method,
      symbols: nSym,
      payload,
      encS,
      decS,
      ratio: rawBytes / payload,
      encMsym: nSym / encS / 1e6,
      decMsym: nSym / decS / 1e6,
      encMBs: rawBytes / encS / 1e6,
      decMBs: rawBytes / decS / 1e6,
    });
  };
  const out = new Int32Array(Math.max(...tensors.map((t) => t.length)));
  const nStatic = set.staticSymbols.reduce((a, t) => a + t.length, 0);
  if (nStatic !== nSym) throw new Error(`${set.name}: static and byte symbols differ in count`);
  const check = (a: ArrayLike<number>, b: ArrayLike<number>, what: string): void => {
    for (let i = 0; i < b.length; i++) if (a[i] !== b[i]) throw new Error(`${what}: round trip failed at ${i}`);
  };

  // rANS with a static table (the coder alone, as for a student's learned prior).
  const st = set.staticSymbols;
  let streams: Uint8Array[] = [];
  const encS = timeBest(reps, () => { streams = st.map((t) => ransEncode(t, set.table)); });
  const decS = timeBest(reps, () => { streams.forEach((s, k) => ransDecode(s, 0, st[k].length, set.table, out)); });
  streams.forEach((s, k) => { ransDecode(s, 0, st[k].length, set.table, out); check(out, st[k], 'rANS static'); });
  add('rANS, static table', streams.reduce((a, s) => a + s.length, 0), encS, decS);

  // rANS with a per-tensor histogram sent as side information (the naive-split codec).
  let hstreams: Uint8Array[] = [];
  const reuse = histogramTable(1 << bits);
  const hencS = timeBest(reps, () => {
    hstreams = tensors.map((t) => {
      const m = buildHistogramModel(t, 1 << bits, reuse);
      const body = ransEncode(t, m.table);
      const all = new Uint8Array(m.sideInfo.length + body.length);
      all.set(m.sideInfo);
      all.set(body, m.sideInfo.length);
      return all;
    });
  });
  const hdecS = timeBest(reps, () => {
    hstreams.forEach((s, k) => {
      const { table, end } = readHistogramModel(s, 0, 1 << bits, reuse);
      ransDecode(s, end, tensors[k].length, table, out);
    });
  });
  hstreams.forEach((s, k) => {
    const { table, end } = readHistogramModel(s, 0, 1 << bits);
    ransDecode(s, end, tensors[k].length, table, out);
    check(out, tensors[k], 'rANS histogram');
  });
  add('rANS + histogram side info', hstreams.reduce((a, s) => a + s.length, 0), hencS, hdecS);

  // zlib peers on the packed quantised bytes (what the deflate/brotli codecs send).
  const packed = tensors.map((t) => packBits(t, bits));
  const sym = new Uint8Array(out.length);
  const peers: Array<[string, (b: Uint8Array) => Uint8Array, (b: Uint8Array) => Uint8Array]> = [
    ['deflate level 6', (b) => zlib.deflateRawSync(b, { level: 6 }), (b) => zlib.inflateRawSync(b)],
    ['deflate level 9', (b) => zlib.deflateRawSync(b, { level: 9 }), (b) => zlib.inflateRawSync(b)],
    ['brotli quality 4', (b) => zlib.brotliCompressSync(b, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 4 } }), (b) => zlib.brotliDecompressSync(b)],
    ['brotli quality 5', (b) => zlib.brotliCompressSync(b, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 5 } }), (b) => zlib.brotliDecompressSync(b)],
    ['brotli quality 11', (b) => zlib.brotliCompressSync(b, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } }), (b) => zlib.brotliDecompressSync(b)],
  ];
  for (const [method, enc, dec] of peers) {
    let zs: Uint8Array[] = [];
    const zencS = timeBest(reps, () => { zs = packed.map((p) => enc(p)); });
    // Decoding includes unpacking, as the codec does.
    const zdecS = timeBest(reps, () => { zs.forEach((z, k) => unpackBits(dec(z), bits, tensors[k].length, sym)); });
    zs.forEach((z, k) => { unpackBits(dec(z), bits, tensors[k].length, sym); check(sym, tensors[k], method); });
    add(method, zs.reduce((a, s) => a + s.length, 0), zencS, zdecS);
  }
  return rows;
}

/** Entry point for `npm run bench -- codec`. */
export async function main(args: string[]): Promise<void> {
  const repsAt = args.indexOf('--reps');
  const reps = repsAt >= 0 ? Math.max(1, Number(args[repsAt + 1])) : 5;
  let sets: TensorSet[] = [];
  const zooAt = args.indexOf('--zoo');
  const zooDir = zooAt >= 0 ? path.resolve(args[zooAt + 1]) : DEFAULT_ZOO_DIR;
  if (!args.includes('--synthetic')) sets = await realTensorSets(zooDir);
  const source = sets.length ? 'real head outputs of the model zoo' : 'synthetic activations (no model zoo found, or --synthetic)';
  if (!sets.length) sets = syntheticSets();
  process.stdout.write(`splitsim ${SPLITSIM_VERSION} codec benchmark on ${source}; node ${process.version}; best of ${reps} runs\n`);
  process.stdout.write('ratio = quantised bytes (1 byte/symbol) / payload; MB/s over quantised bytes; each tensor coded separately\n\n');
  // Warm up the JIT on the first set so that the first measurement is not penalised.
  measureSet(sets[0], 1);
  const rows: Row[] = [];
  for (const set of sets) rows.push(...measureSet(set, reps));
  const f = (v: number, d = 1): string => v.toFixed(d);
  process.stdout.write(
    formatTable(
      ['tensors', 'method', 'ratio', 'enc Msym/s', 'dec Msym/s', 'enc MB/s', 'dec MB/s'],
      rows.map((r) => [r.set, r.method, f(r.ratio, 2), f(r.encMsym), f(r.decMsym), f(r.encMBs), f(r.decMBs)]),
    ) + '\n\n',
  );
  // Ratios of rANS (histogram side info, the codec used for naive splits) to each zlib peer.
  const summary: string[][] = [];
  for (const set of sets) {
    const mine = rows.find((r) => r.set === set.name && r.method === 'rANS + histogram side info')!;
    const stat = rows.find((r) => r.set === set.name && r.method === 'rANS, static table')!;
    for (const peer of rows.filter((r) => r.set === set.name && /deflate|brotli/.test(r.method))) {
      summary.push([
        set.name, peer.method,
        f(mine.encMsym / peer.encMsym, 1) + 'x', f(mine.decMsym / peer.decMsym, 1) + 'x',
        f(mine.ratio / peer.ratio, 3), f(stat.ratio / peer.ratio, 3),
      ]);
    }
  }
  process.stdout.write('rANS vs zlib peer (same tensors, same run):\n');
  process.stdout.write(
    formatTable(['tensors', 'peer', 'enc speed (hist)', 'dec speed (hist)', 'compression (hist)', 'compression (static)'], summary) + '\n',
  );
  // Totals over all sets: symbols / time, and quantised bytes / payload bytes.
  const total = (method: string): { enc: number; dec: number; ratio: number; minEnc: number; minDec: number } => {
    const rs = rows.filter((r) => r.method === method);
    const sym = rs.reduce((a, r) => a + r.symbols, 0);
    return {
      enc: sym / rs.reduce((a, r) => a + r.encS, 0) / 1e6,
      dec: sym / rs.reduce((a, r) => a + r.decS, 0) / 1e6,
      ratio: sym / rs.reduce((a, r) => a + r.payload, 0),
      minEnc: Math.min(...rs.map((r) => r.encMsym)),
      minDec: Math.min(...rs.map((r) => r.decMsym)),
    };
  };
  const methods = [...new Set(rows.map((r) => r.method))];
  process.stdout.write('\nall tensor sets together (symbols / total time; quantised bytes / total payload):\n');
  process.stdout.write(
    formatTable(
      ['method', 'enc Msym/s', 'dec Msym/s', 'slowest set enc', 'slowest set dec', 'ratio'],
      methods.map((m) => {
        const t = total(m);
        return [m, f(t.enc), f(t.dec), f(t.minEnc), f(t.minDec), f(t.ratio, 3)];
      }),
    ) + '\n',
  );
  const coder = total('rANS, static table');
  const hist = total('rANS + histogram side info');
  const defl = total('deflate level 6');
  const brot = total('brotli quality 4');
  process.stdout.write(
    `\nrANS coder: encode ${f(coder.enc)} M symbols/s, decode ${f(coder.dec)} M symbols/s ` +
      `(${f(coder.enc / defl.enc, 2)}x / ${f(coder.dec / defl.dec, 2)}x deflate-6, ${f(coder.enc / brot.enc, 2)}x / ${f(coder.dec / brot.dec, 2)}x brotli-4); ` +
      `with per-tensor histograms: ${f(hist.enc)} / ${f(hist.dec)} M symbols/s, compression ${f(hist.ratio / defl.ratio, 3)}x deflate-6's\n`,
  );
}
