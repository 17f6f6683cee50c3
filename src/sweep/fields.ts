/**
 * The numeric fields of a scenario a sweep may vary, found by walking the scenario schema
 * (src/config/scenario.ts) alongside the scenario itself, so that a discriminated union
 * (link type, arrival type, loss model, delivery mode) offers the fields of the variant the
 * scenario uses, and setting one of them on the scenario's YAML data.
 */
import { z } from 'zod';
import { scenarioSchema } from '../config/scenario';
import { markovMeanRateBps } from '../network/server';
import { UserError } from '../util/errors';

/** One scenario field a sweep can set. */
export interface NumericField {
  path: string;
  integer: boolean;
  min?: number;
  max?: number;
  /** A rate model with no single rateBps (markov): the value scales every state's rate. */
  scalesStates?: boolean;
}

/** Fields that are numbers but change what is measured or the random streams themselves. */
const NOT_SWEPT: Record<string, string> = {
  seed: 'the seed picks the random streams, not the system (use --seed)',
  samples: 'samples changes what is measured (use --samples)',
  measureSeed: 'measureSeed changes what is measured',
};

/** Top-level parts of a scenario that hold no sweepable field. */
const SKIPPED = new Set(['pipelines', 'models']);

type Any = z.ZodTypeAny;
const typeName = (s: Any): string => (s._def as { typeName: string }).typeName;

/** The schema inside defaults, optionals, nullables and refinements. */
function unwrap(s: Any): Any {
  for (;;) {
    const t = typeName(s);
    if (t === 'ZodDefault') s = (s._def as { innerType: Any }).innerType;
    else if (t === 'ZodOptional' || t === 'ZodNullable') s = (s._def as { innerType: Any }).innerType;
    else if (t === 'ZodEffects') {
      const inner = (s._def as { schema: Any }).schema;
      if (typeName(inner) === 'ZodUnknown') return s; // a distribution: a transform of anything
      s = inner;
    } else return s;
  }
}

/** Whether a schema is a distribution field (number, list of samples, or {type, ...}). */
function isDistribution(s: Any): boolean {
  return typeName(s) === 'ZodEffects' && typeName((s._def as { schema: Any }).schema) === 'ZodUnknown';
}

interface Walk {
  numeric: NumericField[];
  other: string[];
}

function walk(schema: Any, parsed: unknown, raw: unknown, at: string, out: Walk): void {
  const s = unwrap(schema);
  const t = typeName(s);
  const obj = (v: unknown): Record<string, unknown> | undefined => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);
  if (t === 'ZodNumber') {
    const n = s as z.ZodNumber;
    out.numeric.push({
      path: at,
      integer: n.isInt,
      ...(Number.isFinite(n.minValue ?? NaN) ? { min: n.minValue! } : {}),
      ...(Number.isFinite(n.maxValue ?? NaN) ? { max: n.maxValue! } : {}),
    });
  } else if (isDistribution(s)) {
    // A cost or size given as one number is a constant distribution: a sweep may vary it.
    if (typeof raw === 'number' || raw === undefined) out.numeric.push({ path: at, integer: false });
    else out.other.push(at);
  } else if (t === 'ZodObject') {
    const shape = (s as z.AnyZodObject).shape as Record<string, Any>;
    for (const [k, v] of Object.entries(shape)) {
      if (at === '' && SKIPPED.has(k)) continue;
      walk(v, obj(parsed)?.[k], obj(raw)?.[k], at ? `${at}.${k}` : k, out);
    }
  } else if (t === 'ZodDiscriminatedUnion') {
    const u = s as z.ZodDiscriminatedUnion<string, z.AnyZodObject[]>;
    const p = obj(parsed);
    const option = p ? u.optionsMap.get(p[u.discriminator] as string) : undefined;
    if (option) {
      walk(option, parsed, raw, at, out);
      if (option.shape.states && Array.isArray(p!.states)) out.numeric.push({ path: `${at}.rateBps`, integer: false, min: 0, scalesStates: true });
    }
  } else if (t === 'ZodUnion') {
    const options = (s._def as { options: Any[] }).options;
    const fit = options.find((o) => o.safeParse(parsed).success);
    if (fit) walk(fit, parsed, raw, at, out);
  } else if (t === 'ZodArray') {
    const el = (s as z.ZodArray<Any>).element;
    if (Array.isArray(parsed)) parsed.forEach((v, i) => walk(el, v, Array.isArray(raw) ? raw[i] : undefined, `${at}.${i}`, out));
  } else if (at !== '') {
    out.other.push(at);
  }
}

/** Every numeric field of this scenario (parsed = with defaults, raw = as its YAML gives it). */
export function scenarioFields(parsed: unknown, raw: unknown): Walk {
  const out: Walk = { numeric: [], other: [] };
  walk(scenarioSchema as unknown as Any, parsed, raw, '', out);
  out.numeric = out.numeric.filter((f) => {
    if (!(f.path in NOT_SWEPT)) return true;
    out.other.push(f.path);
    return false;
  });
  return out;
}

/** 'uplink.states[0].rateBps' → 'uplink.states.0.rateBps'. */
export function normalizePath(p: string): string {
  return p.trim().replace(/\[(\d+)\]/g, '.$1');
}

/** The field a --vary names, or a UserError naming it and the valid choices. */
export function findField(fieldPath: string, parsed: Record<string, unknown>, raw: unknown): NumericField {
  const p = normalizePath(fieldPath);
  const { numeric, other } = scenarioFields(parsed, raw);
  const f = numeric.find((x) => x.path === p);
  if (f) return f;
  const choices = `numeric fields of this scenario: ${numeric.map((x) => x.path).join(', ')}`;
  if (p in NOT_SWEPT) throw new UserError(`--vary ${p}: not sweepable: ${NOT_SWEPT[p]}; ${choices}`);
  if (p === 'devices.profile' || p === 'edge.profile') throw new UserError(`--vary ${p}: not numeric; vary profiles with --${p === 'devices.profile' ? 'device' : 'edge'} a,b,c; ${choices}`);
  const dir = p.split('.')[0];
  const link = (dir === 'uplink' || dir === 'downlink') ? (parsed[dir] as { type: string; file?: string }) : undefined;
  if (link && link.type === 'trace' && p === `${dir}.rateBps`) {
    throw new UserError(`--vary ${p}: the ${dir} is a trace link, whose rate comes from ${link.file}; vary another field or use a constant or markov link; ${choices}`);
  }
  if (other.includes(p)) throw new UserError(`--vary ${p}: not a numeric field (a name, flag, list or distribution object); ${choices}`);
  throw new UserError(`--vary ${p}: no such field in this scenario; ${choices}`);
}

/** A deep copy of plain YAML data. */
function copy<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

/**
 * Sets a field on a copy of the scenario's YAML data, creating the objects on its path. A
 * markov link's `rateBps` scales every state's rate by the same factor so that the link's
 * long-run mean rate equals the value (the shape of the rate process is kept).
 */
export function setField(raw: Record<string, unknown>, parsed: Record<string, unknown>, f: NumericField, value: number | string): Record<string, unknown> {
  const out = copy(raw);
  const keys = f.path.split('.');
  if (f.scalesStates) {
    const dir = keys[0];
    const spec = parsed[dir] as { states: Array<{ rateBps: number; meanSojournMs: number }>; transitions?: number[][] };
    const factor = (value as number) / markovMeanRateBps(spec.states, spec.transitions);
    const states = (out[dir] as { states: Array<{ rateBps: number }> }).states;
    states.forEach((st, i) => { st.rateBps = spec.states[i].rateBps * factor; });
    return out;
  }
  let node: Record<string, unknown> = out;
  for (const k of keys.slice(0, -1)) {
    if (node[k] === undefined || node[k] === null) node[k] = {};
    node = node[k] as Record<string, unknown>;
  }
  node[keys[keys.length - 1]] = value;
  return out;
}

/** Words describing how a field is set, for fields whose meaning is not literal. */
export function fieldNote(f: NumericField, parsed: Record<string, unknown>): string | undefined {
  if (!f.scalesStates) return undefined;
  const dir = f.path.split('.')[0];
  const spec = parsed[dir] as { states: Array<{ rateBps: number; meanSojournMs: number }>; transitions?: number[][] };
  const mean = markovMeanRateBps(spec.states, spec.transitions);
  return `the ${dir} is a markov link: ${f.path} scales its ${spec.states.length} states' rates (${spec.states.map((s) => formatValue(`${dir}.rateBps`, s.rateBps)).join(' / ')}, time-average ${formatValue(`${dir}.rateBps`, mean)}) by one factor so that their time-average equals the value`;
}

/** A value with the unit its field name carries: 2400000 (rateBps) → '2.4 Mbit/s'. */
export function formatValue(fieldPath: string, v: number): string {
  const g = (x: number) => String(Number(x.toPrecision(3)));
  if (!Number.isFinite(v)) return String(v);
  if (/Bps$/.test(fieldPath)) {
    const a = Math.abs(v);
    if (a >= 1e9) return `${g(v / 1e9)} Gbit/s`;
    if (a >= 1e6) return `${g(v / 1e6)} Mbit/s`;
    if (a >= 1e3) return `${g(v / 1e3)} kbit/s`;
    return `${g(v)} bit/s`;
  }
  if (/Ms$/.test(fieldPath)) return `${g(v)} ms`;
  if (/fps$/.test(fieldPath)) return `${g(v)} fps`;
  if (/Bytes$/.test(fieldPath) || fieldPath === 'resultBytes') return `${g(v)} B`;
  if (/PerS$/.test(fieldPath)) return `${g(v)}/s`;
  return g(v);
}
