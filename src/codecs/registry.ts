/**
 * The codec registry: every codec a pipeline can name, input codecs (the device compresses
 * the image; the server decodes it and runs the whole model) and feature codecs (the
 * device compresses a split point's tensor), each under a string key with a zod schema for
 * its parameters (ranges, defaults, units), the sweep that `all` expands to, and what it
 * needs from the model. A codec is named in scenarios and caches as `key[k=v;k=v]`, e.g.
 * `webp[quality=55]` or `quant[bits=4;granularity=channel;entropy=rans]`; omitted
 * parameters take their defaults, and the canonical name lists every parameter.
 *
 * Adding a codec = one entry in CODECS (its implementation lives in feature.ts or image.ts).
 */
import { z } from 'zod';
import { ENTROPY_STAGES, type FeatureCodecSpec } from './feature';
import { TILED_QUALITIES } from './tiled';
import { AVIF_QUALITIES, isLossless, JPEG_QUALITIES, WEBP_QUALITIES, type ImageCodecSpec, type ImageFormat } from './image';

/** Any codec setting as data: the registry key plus its parameters. */
export type CodecSpec = FeatureCodecSpec | ImageCodecSpec;

/** Input codecs code the image; feature codecs code an intermediate tensor. */
export type CodecKind = 'input' | 'feature';

/** What a codec needs from the model it is used with. */
export type CodecNeeds = 'prior' | 'fixedQuantizer' | 'hyperprior';

/** One registered codec. */
export interface CodecEntry {
  key: string;
  kind: CodecKind;
  description: string;
  /** Parameter schema (a strict zod object with defaults); its key order is the canonical order. */
  params: z.AnyZodObject;
  /** The settings `all` expands to. */
  sweep: Array<Record<string, string | number>>;
  /**
   * Model-specific codecs run only at the model's learned bottleneck: 'prior' (a factorized
   * entropy model: the students, End-to-End models, factorized-prior input codecs),
   * 'hyperprior' (a hyperprior's networks and tables) or 'fixedQuantizer' (the
   * channel-reduction baseline).
   */
  needs?: CodecNeeds;
  /** Decoding returns the input exactly (input codecs). */
  lossless?: boolean;
  /** An image codec applied to the tiled feature tensor (codec feature compression, not a naive split). */
  imageOnFeatures?: boolean;
  /**
   * Codec CPU time is calibrated per cost class (codecs/cost.ts): settings of one class run
   * the same code and differ in size only (e.g. every JPEG quality is class 'jpeg').
   */
  costClass(params: Record<string, string | number>): string;
}

const quality = (def: number, what: string) =>
  z.number().int().min(1).max(100).default(def).describe(`${what} quality, 1 (smallest) .. 100 (best)`);

const entropy = z.enum(ENTROPY_STAGES as unknown as [string, ...string[]]).default('rans')
  .describe('lossless stage on the quantised symbols: packed (bit packing), deflate, brotli (zlib) or rans (per-tensor histogram + rANS)');

function imageCodec(key: ImageFormat, description: string, qualities?: number[], def?: number): CodecEntry {
  return {
    key,
    kind: 'input',
    description,
    params: qualities ? z.object({ quality: quality(def!, key) }).strict() : z.object({}).strict(),
    sweep: qualities ? qualities.map((q) => ({ quality: q })) : [{}],
    lossless: isLossless(key),
    costClass: () => key,
  };
}

function tiledCodec(key: 'tiled-jpeg' | 'tiled-webp', description: string): CodecEntry {
  return {
    key,
    kind: 'feature',
    description,
    params: z.object({ quality: quality(50, key) }).strict(),
    sweep: TILED_QUALITIES.map((q) => ({ quality: q })),
    imageOnFeatures: true,
    costClass: () => key,
  };
}

function floatCodec(key: 'float16' | 'float32', description: string): CodecEntry {
  return { key, kind: 'feature', description, params: z.object({}).strict(), sweep: [{}], costClass: () => key };
}

function naiveQuantSweep(): Array<Record<string, string | number>> {
  const out: Array<Record<string, string | number>> = [];
  for (const bits of [8, 6, 4, 2]) {
    for (const granularity of ['tensor', 'channel']) for (const e of ENTROPY_STAGES) out.push({ bits, granularity, entropy: e });
  }
  return out;
}

/** Every codec, by key. */
export const CODECS: readonly CodecEntry[] = [
  imageCodec('raw', 'uncompressed 8-bit pixels'),
  imageCodec('png', 'PNG, compression level 9, adaptive filtering (libpng via sharp)'),
  imageCodec('webp-lossless', 'lossless WebP, effort 6 (libwebp via sharp)'),
  imageCodec('jpeg', 'JPEG with mozjpeg defaults (via sharp)', JPEG_QUALITIES, 75),
  imageCodec('webp', 'lossy WebP, effort 4 (libwebp via sharp)', WEBP_QUALITIES, 75),
  imageCodec('avif', 'AVIF, effort 1 (libaom via sharp)', AVIF_QUALITIES, 50),
  {
    key: 'quant',
    kind: 'feature',
    description: 'uniform quantisation per tensor or per channel with a header (shape, scale, offset), then a lossless stage',
    params: z.object({
      bits: z.number().int().min(1).max(8).default(8).describe('bits per value, 1..8'),
      granularity: z.enum(['tensor', 'channel']).default('channel').describe('one scale and offset per tensor or per channel'),
      entropy,
    }).strict(),
    sweep: naiveQuantSweep(),
    costClass: (p) => `quant/${p.entropy}`,
  },
  floatCodec('float16', 'IEEE half-precision values with the shape'),
  floatCodec('float32', 'raw float32 values with the shape'),
  {
    key: 'factorized',
    kind: 'feature',
    description: "a student's latent rounded around its medians and rANS-coded under its learned factorized prior (meta.json tables)",
    params: z.object({}).strict(),
    sweep: [{}],
    needs: 'prior',
    costClass: () => 'factorized',
  },
  {
    key: 'hyperprior',
    kind: 'feature',
    description: "a hyperprior model's latent: side information z = h_a(y) under its factorized prior, then y under the Gaussian conditional of the scales (and means) h_s recomputes from z, one rANS stream (meta.json networks and tables)",
    params: z.object({}).strict(),
    sweep: [{}],
    needs: 'hyperprior',
    costClass: () => 'hyperprior',
  },
  tiledCodec('tiled-jpeg', 'codec feature compression: the tensor min/max-normalised to 8 bits, its channels tiled into one gray image, JPEG (mozjpeg via sharp); the range (8 bytes) is sent with it'),
  tiledCodec('tiled-webp', 'codec feature compression: as tiled-jpeg, with lossy WebP (effort 4)'),
  {
    key: 'fixedquant',
    kind: 'feature',
    description: "the channel-reduction latent quantised with its trained scale and zero point, then a lossless stage",
    params: z.object({ entropy }).strict(),
    sweep: ENTROPY_STAGES.map((e) => ({ entropy: e })),
    needs: 'fixedQuantizer',
    costClass: (p) => `fixedquant/${p.entropy}`,
  },
];

const BY_KEY = new Map(CODECS.map((c) => [c.key, c]));

/** Registry keys, in registry order. */
export const CODEC_KEYS: readonly string[] = CODECS.map((c) => c.key);

/** The entry of a key, or undefined. */
export function codecEntry(key: string): CodecEntry | undefined {
  return BY_KEY.get(key);
}

/** The entry of a spec's codec (a spec always names a registered key). */
export function entryOf(spec: CodecSpec): CodecEntry {
  const e = BY_KEY.get(spec.codec);
  if (!e) throw new Error(`codec '${spec.codec}' is not registered`);
  return e;
}

/** Parameters of a spec as a record (everything but the key). */
export function specParamsOf(spec: CodecSpec): Record<string, string | number> {
  const { codec: _codec, ...rest } = spec as unknown as Record<string, string | number>;
  return rest;
}

/** Parameters as the stable string 'k=v;k=v' in schema order ('' when none). */
export function codecParamsString(spec: CodecSpec): string {
  const e = entryOf(spec);
  const p = specParamsOf(spec);
  return Object.keys(e.params.shape).filter((k) => p[k] !== undefined).map((k) => `${k}=${p[k]}`).join(';');
}

/** Canonical name of a setting: 'jpeg[quality=50]', 'factorized'. */
export function codecName(spec: CodecSpec): string {
  const params = codecParamsString(spec);
  return params ? `${spec.codec}[${params}]` : spec.codec;
}

/** Describes one parameter of a schema for listings: type, range or choices, default. */
export function describeParam(schema: z.ZodTypeAny): { type: string; range: string; default: string; description: string } {
  let s = schema;
  let def = '';
  const description = s.description ?? '';
  if (s instanceof z.ZodDefault) {
    def = String(s._def.defaultValue());
    s = s._def.innerType;
  }
  if (s instanceof z.ZodEnum) return { type: 'choice', range: (s.options as string[]).join('|'), default: def, description };
  if (s instanceof z.ZodNumber) {
    const checks = s._def.checks as Array<{ kind: string; value?: number }>;
    const min = checks.find((c) => c.kind === 'min')?.value;
    const max = checks.find((c) => c.kind === 'max')?.value;
    const int = checks.some((c) => c.kind === 'int');
    return { type: int ? 'integer' : 'number', range: `${min ?? '-inf'}..${max ?? 'inf'}`, default: def, description };
  }
  return { type: 'value', range: '', default: def, description };
}

/** Turns a written value into a number when it reads as one (names in brackets are text). */
function coerce(v: unknown): unknown {
  if (typeof v === 'string' && /^-?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(v.trim())) return Number(v);
  return v;
}

/** Result of parsing a codec setting: the spec, or the reasons it is not one. */
export type CodecParse = { ok: true; spec: CodecSpec } | { ok: false; error: string };

/**
 * Validates a codec key and parameters (given as data, or parsed from brackets) against the
 * registry: unknown key → the valid keys; bad or unknown parameter → the schema's words.
 */
export function makeCodecSpec(key: string, params: Record<string, unknown>): CodecParse {
  const e = BY_KEY.get(key);
  if (!e) return { ok: false, error: `unknown codec '${key}' (codecs: ${CODEC_KEYS.join(', ')})` };
  const coerced = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, coerce(v)]));
  const r = e.params.safeParse(coerced);
  if (!r.success) {
    const issues = r.error.issues.map((i) => {
      if (i.code === z.ZodIssueCode.unrecognized_keys) {
        const known = Object.keys(e.params.shape);
        return `unknown parameter(s) ${i.keys.map((k) => `'${k}'`).join(', ')} (${key} takes ${known.length ? known.join(', ') : 'no parameters'})`;
      }
      const p = i.path.join('.');
      const d = p && e.params.shape[p] ? describeParam(e.params.shape[p]) : undefined;
      return `parameter '${p}': ${i.message}${d && d.range ? ` (expected ${d.type} ${d.range})` : ''}`;
    });
    return { ok: false, error: `codec '${key}': ${issues.join('; ')}` };
  }
  const ordered: Record<string, unknown> = { codec: key };
  for (const k of Object.keys(e.params.shape)) if (r.data[k] !== undefined) ordered[k] = r.data[k];
  return { ok: true, spec: ordered as unknown as CodecSpec };
}

/** Parses 'key' or 'key[k=v;k=v]' (',' also separates). */
export function parseCodecName(text: string): CodecParse {
  const m = /^([A-Za-z0-9_-]+)(?:\[(.*)\])?$/.exec(text.trim());
  if (!m) return { ok: false, error: `'${text}' is not a codec setting (expected key or key[name=value;...], e.g. jpeg[quality=55])` };
  const params: Record<string, unknown> = {};
  if (m[2] !== undefined && m[2].trim() !== '') {
    for (const part of m[2].split(/[;,]/)) {
      const kv = /^\s*([A-Za-z][A-Za-z0-9_]*)\s*=\s*(.+?)\s*$/.exec(part);
      if (!kv) return { ok: false, error: `codec '${m[1]}': '${part}' is not name=value` };
      if (kv[1] in params) return { ok: false, error: `codec '${m[1]}': parameter '${kv[1]}' given twice` };
      params[kv[1]] = kv[2];
    }
  }
  return makeCodecSpec(m[1], params);
}

/** The sweep of one codec as specs. */
export function sweepSpecs(e: CodecEntry): CodecSpec[] {
  return e.sweep.map((p) => {
    const r = makeCodecSpec(e.key, p);
    if (!r.ok) throw new Error(`registry sweep of ${e.key}: ${r.error}`);
    return r.spec;
  });
}

/** Whether a spec codes the input image. */
export function isInputCodec(spec: CodecSpec): spec is ImageCodecSpec {
  return entryOf(spec).kind === 'input';
}
