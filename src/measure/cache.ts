/**
 * On-disk cache of per-sample measurements, one JSON file per pipeline and sample set:
 * .cache/measure/<key>.json, where the key is a SHA-256 over the model files' content hash,
 * the split point, the codec spec, the sample indices, the tfjs backend and the content of
 * the codec and measurement code. Anything that could change a number changes the key, so
 * a hit can be trusted and a repeat run costs only the reads.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import type { FeatureCodecSpec } from '../codecs/feature';
import type { ImageCodecSpec } from '../codecs/image';
import { writeFileAtomic } from '../util/atomic';
import { PACKAGE_ROOT } from '../util/version';

/** Bumped when the cache file layout changes. */
const CACHE_FORMAT = 1;

/** Per-sample results of one pipeline, in sample order. */
export interface SampleResults {
  /** Payload bytes of each sample's bitstream. */
  bytes: Uint32Array;
  /** 1 when the tail (or server model) classified the decoded sample correctly. */
  correct: Uint8Array;
  /** Encode and decode CPU time per sample (ms). */
  encodeMs: Float32Array;
  decodeMs: Float32Array;
  /** Model estimate of the payload (bytes) for entropy-model codecs. */
  estimatedBytes?: Float64Array;
}

/** What a cache entry records besides the numbers. */
export interface CacheRecord {
  pipeline: string;
  model: string;
  modelHash: string;
  split: string;
  codec: FeatureCodecSpec | ImageCodecSpec;
  samples: number;
  samplesHash: string;
  backend: string;
  splitsimVersion: string;
  createdAt: string;
}

/** Default cache folder (overridable with SPLITSIM_CACHE_DIR). */
export function defaultCacheDir(): string {
  return process.env.SPLITSIM_CACHE_DIR ?? path.join(PACKAGE_ROOT, '.cache', 'measure');
}

/** SHA-256 hex of the given parts, each length-prefixed so boundaries cannot collide. */
export function sha256(...parts: Array<string | Uint8Array>): string {
  const h = createHash('sha256');
  for (const p of parts) {
    const b = typeof p === 'string' ? Buffer.from(p, 'utf8') : p;
    h.update(`${b.length}:`);
    h.update(b);
  }
  return h.digest('hex');
}

/** Content hash of a model folder: every file (sorted by name) with its bytes. */
export function hashModelDir(dir: string): string {
  const files = fs.readdirSync(dir).filter((f) => fs.statSync(path.join(dir, f)).isFile()).sort();
  const parts: Array<string | Uint8Array> = [];
  for (const f of files) parts.push(f, fs.readFileSync(path.join(dir, f)));
  return sha256(...parts);
}

/** Hash of sample indices. */
export function hashSamples(indices: ArrayLike<number>): string {
  return sha256(Buffer.from(Int32Array.from(indices as ArrayLike<number>).buffer));
}

let codeHashMemo: string | undefined;

/**
 * Content hash of the code that produces the numbers: the codec modules and the runner,
 * as loaded (compiled .js under dist/, or .ts under ts-jest).
 */
export function codeHash(): string {
  if (codeHashMemo) return codeHashMemo;
  const ext = path.extname(__filename);
  const dirs = [path.join(__dirname, '..', 'codecs')];
  const files: string[] = [];
  for (const d of dirs) for (const f of fs.readdirSync(d).sort()) if (f.endsWith(ext)) files.push(path.join(d, f));
  files.push(path.join(__dirname, `run${ext}`));
  const parts: Array<string | Uint8Array> = [];
  for (const f of files) parts.push(path.basename(f), fs.readFileSync(f));
  codeHashMemo = sha256(...parts);
  return codeHashMemo;
}

/** The cache key of one pipeline on one sample set. */
export function cacheKey(k: {
  modelHash: string;
  split: string;
  codec: FeatureCodecSpec | ImageCodecSpec;
  samplesHash: string;
  backend: string;
}): string {
  return sha256(
    `format=${CACHE_FORMAT}`,
    k.modelHash,
    k.split,
    JSON.stringify(k.codec, Object.keys(k.codec).sort()),
    k.samplesHash,
    k.backend,
    codeHash(),
  );
}

function b64(a: ArrayBufferView): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
}

function fromB64<T>(s: string, ctor: { new (b: ArrayBuffer): T; BYTES_PER_ELEMENT: number }, n: number, file: string, field: string): T {
  const buf = Buffer.from(s, 'base64');
  if (buf.length !== n * ctor.BYTES_PER_ELEMENT) throw new Error(`${file}: field '${field}' has ${buf.length} bytes, expected ${n * ctor.BYTES_PER_ELEMENT}`);
  const copy = new ArrayBuffer(buf.length);
  new Uint8Array(copy).set(buf);
  return new ctor(copy);
}

/** Writes a cache entry atomically. */
export function writeCacheEntry(dir: string, key: string, record: CacheRecord, r: SampleResults): void {
  const body = {
    ...record,
    bytes: b64(r.bytes),
    correct: b64(r.correct),
    encodeMs: b64(r.encodeMs),
    decodeMs: b64(r.decodeMs),
    estimatedBytes: r.estimatedBytes ? b64(r.estimatedBytes) : null,
  };
  writeFileAtomic(path.join(dir, `${key}.json`), JSON.stringify(body));
}

/** Reads a cache entry; undefined when absent. A corrupt entry is reported, not trusted. */
export function readCacheEntry(dir: string, key: string): { record: CacheRecord; results: SampleResults } | undefined {
  const file = path.join(dir, `${key}.json`);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const body = JSON.parse(text);
    const n = body.samples as number;
    const results: SampleResults = {
      bytes: fromB64(body.bytes, Uint32Array, n, file, 'bytes'),
      correct: fromB64(body.correct, Uint8Array, n, file, 'correct'),
      encodeMs: fromB64(body.encodeMs, Float32Array, n, file, 'encodeMs'),
      decodeMs: fromB64(body.decodeMs, Float32Array, n, file, 'decodeMs'),
      estimatedBytes: body.estimatedBytes ? fromB64(body.estimatedBytes, Float64Array, n, file, 'estimatedBytes') : undefined,
    };
    const { bytes: _b, correct: _c, encodeMs: _e, decodeMs: _d, estimatedBytes: _x, ...record } = body;
    return { record: record as CacheRecord, results };
  } catch (e) {
    process.stderr.write(`splitsim: ignoring corrupt cache entry ${file} (${(e as Error).message})\n`);
    return undefined;
  }
}
