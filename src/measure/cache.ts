/**
 * On-disk cache of per-sample measurements, one JSON file per pipeline and sample set:
 * .cache/measure/<key>.json, where the key is a SHA-256 over the model's content hash, the
 * dataset's bytes, the split point, the codec setting, the sample indices, the tfjs backend
 * and the content of every source file on the measurement path (codecs, measurement,
 * model loading and splitting, dataset reading and preprocessing). Anything that could
 * change a number changes the key, so a hit can be trusted; each entry also records its
 * key and a checksum of its content, so a stale, corrupt or misplaced entry is detected,
 * reported and measured again.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import type { CodecSpec } from '../codecs/registry';
import { writeFileAtomic } from '../util/atomic';
import { PACKAGE_ROOT } from '../util/version';

/** Bumped when the cache file layout changes. */
const CACHE_FORMAT = 2;

/** Per-sample results of one pipeline, in sample order. */
export interface SampleResults {
  /** Payload bytes of each sample's bitstream. */
  bytes: Uint32Array;
  /** 1 when the tail (or server model) classified the decoded sample correctly. */
  correct: Uint8Array;
  /**
   * Encode and decode CPU time per sample measured on this host (ms): a clock reading,
   * kept for calibration checks and logs only; no result depends on it.
   */
  encodeMs: Float32Array;
  decodeMs: Float32Array;
  /** Model estimate of the payload (bytes) for entropy-model codecs. */
  estimatedBytes?: Float64Array;
  /** Values the codec coded per sample (pixels, or elements of the split tensor; 0 when none). */
  elements: number;
}

/** What a cache entry records besides the numbers. */
export interface CacheRecord {
  pipeline: string;
  model: string;
  modelHash: string;
  datasetHash: string;
  split: string;
  codec: CodecSpec | null;
  samples: number;
  samplesHash: string;
  backend: string;
  splitsimVersion: string;
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

/** Hash of files' bytes (names included), in the order given. */
export function hashFiles(files: string[]): string {
  const parts: Array<string | Uint8Array> = [];
  for (const f of files) parts.push(path.basename(f), fs.readFileSync(f));
  return sha256(...parts);
}

/** Hash of sample indices. */
export function hashSamples(indices: ArrayLike<number>): string {
  return sha256(Buffer.from(Int32Array.from(indices as ArrayLike<number>).buffer));
}

let codeHashMemo: string | undefined;

function sourceFiles(dir: string, ext: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const f = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...sourceFiles(f, ext));
    else if (e.name.endsWith(ext) && !e.name.endsWith(`.d${ext}`)) out.push(f);
  }
  return out;
}

/**
 * Content hash of the code that produces the numbers: every module of codecs/, measure/,
 * model/ (loading, custom layers, splitting) and data/ (reading, preprocessing), as loaded
 * (compiled .js under dist/, or .ts under ts-jest).
 */
export function codeHash(): string {
  if (codeHashMemo) return codeHashMemo;
  const ext = path.extname(__filename);
  const src = path.join(__dirname, '..');
  const files = ['codecs', 'measure', 'model', 'data'].flatMap((d) => sourceFiles(path.join(src, d), ext));
  const parts: Array<string | Uint8Array> = [];
  for (const f of files) parts.push(path.relative(src, f), fs.readFileSync(f));
  codeHashMemo = sha256(...parts);
  return codeHashMemo;
}

/** The cache key of one pipeline on one sample set. */
export function cacheKey(k: {
  modelHash: string;
  datasetHash: string;
  split: string;
  codec: CodecSpec | null;
  samplesHash: string;
  backend: string;
}): string {
  return sha256(
    `format=${CACHE_FORMAT}`,
    k.modelHash,
    k.datasetHash,
    k.split,
    k.codec ? JSON.stringify(k.codec, Object.keys(k.codec).sort()) : 'none',
    k.samplesHash,
    k.backend,
    codeHash(),
  );
}

/** Base64 of a typed array's bytes. */
export function b64(a: ArrayBufferView): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
}

/** A typed array of n elements from base64 text; `field` names it when the size is wrong. */
export function fromB64<T>(s: unknown, ctor: { new (b: ArrayBuffer): T; BYTES_PER_ELEMENT: number }, n: number, field: string): T {
  if (typeof s !== 'string') throw new Error(`field '${field}' is not base64 text`);
  const buf = Buffer.from(s, 'base64');
  if (buf.length !== n * ctor.BYTES_PER_ELEMENT) throw new Error(`field '${field}' has ${buf.length} bytes, expected ${n * ctor.BYTES_PER_ELEMENT}`);
  const copy = new ArrayBuffer(buf.length);
  new Uint8Array(copy).set(buf);
  return new ctor(copy);
}

const ARRAY_FIELDS = ['bytes', 'correct', 'encodeMs', 'decodeMs', 'estimatedBytes'] as const;

/** Checksum of an entry's body: every field but the checksum, in a fixed order. */
function checksumOf(body: Record<string, unknown>): string {
  const keys = Object.keys(body).filter((k) => k !== 'checksum').sort();
  return sha256(...keys.map((k) => `${k}=${JSON.stringify(body[k])}`));
}

/** Writes a cache entry atomically, with its key and a checksum of its content. */
export function writeCacheEntry(dir: string, key: string, record: CacheRecord, r: SampleResults): void {
  const body: Record<string, unknown> = {
    key,
    ...record,
    elements: r.elements,
    bytes: b64(r.bytes),
    correct: b64(r.correct),
    encodeMs: b64(r.encodeMs),
    decodeMs: b64(r.decodeMs),
    estimatedBytes: r.estimatedBytes ? b64(r.estimatedBytes) : null,
  };
  body.checksum = checksumOf(body);
  writeFileAtomic(path.join(dir, `${key}.json`), JSON.stringify(body));
}

/**
 * Reads a cache entry; undefined when absent. An entry that does not parse, whose checksum
 * or key does not match, or whose arrays have the wrong size is reported on stderr and
 * treated as absent (it is measured again and overwritten).
 */
export function readCacheEntry(dir: string, key: string): { record: CacheRecord; results: SampleResults } | undefined {
  const file = path.join(dir, `${key}.json`);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const body = JSON.parse(text) as Record<string, unknown>;
    if (body === null || typeof body !== 'object') throw new Error('not a JSON object');
    if (body.checksum !== checksumOf(body)) throw new Error('checksum mismatch (the entry was changed or truncated)');
    if (body.key !== key) throw new Error(`stored under key ${String(body.key).slice(0, 12)}..., not this one`);
    const n = body.samples;
    if (!(typeof n === 'number' && Number.isInteger(n) && n > 0)) throw new Error("field 'samples' is not a positive integer");
    if (!(typeof body.elements === 'number' && body.elements >= 0)) throw new Error("field 'elements' is not a count");
    const results: SampleResults = {
      bytes: fromB64(body.bytes, Uint32Array, n, 'bytes'),
      correct: fromB64(body.correct, Uint8Array, n, 'correct'),
      encodeMs: fromB64(body.encodeMs, Float32Array, n, 'encodeMs'),
      decodeMs: fromB64(body.decodeMs, Float32Array, n, 'decodeMs'),
      estimatedBytes: body.estimatedBytes ? fromB64(body.estimatedBytes, Float64Array, n, 'estimatedBytes') : undefined,
      elements: body.elements,
    };
    for (let i = 0; i < n; i++) if (results.correct[i] > 1) throw new Error(`field 'correct' holds ${results.correct[i]} at sample ${i}`);
    const record = Object.fromEntries(Object.entries(body).filter(([k]) => !(ARRAY_FIELDS as readonly string[]).includes(k) && k !== 'checksum' && k !== 'key' && k !== 'elements'));
    return { record: record as unknown as CacheRecord, results };
  } catch (e) {
    process.stderr.write(`splitsim: warning: ignoring cache entry ${file}: ${(e as Error).message}; measuring again\n`);
    return undefined;
  }
}

/** Removes an entry (absent is fine). */
export function removeCacheEntry(dir: string, key: string): void {
  try { fs.unlinkSync(path.join(dir, `${key}.json`)); } catch { /* absent */ }
}
