/**
 * What a sweep varies: one or two axes, each a numeric scenario field over a range or a list
 * (`--vary uplink.rateBps=1e4..1e8 --steps 20 --log`, `--vary devices.count=1,2,4`) or a list
 * of hardware profiles (`--device a,b`, `--edge t4,a100`), and the scenario of every grid point.
 */
import * as path from 'path';
import { parseYaml, readTextFile, resolveNamed } from '../config/load';
import { parseScenario, SCENARIOS_DIR, type Scenario } from '../config/scenario';
import { resolveLinkSpec } from '../network/link';
import { UserError } from '../util/errors';
import { fieldNote, findField, formatValue, setField, type NumericField } from './fields';

/** One swept dimension. */
export interface Axis {
  /** The scenario field ('uplink.rateBps', 'devices.profile', 'edge.profile'); also the sweep.csv column. */
  field: string;
  kind: 'numeric' | 'profile';
  values: Array<number | string>;
  /** Numeric range axes swept in log steps (plots use a log scale). */
  log: boolean;
  /** How the field is applied, when that is not literal (markov rates). */
  note?: string;
}

/** A sweep's grid point: one value per axis and the scenario it makes. */
export interface SweepPoint {
  index: number;
  values: Array<number | string>;
  scenario: Scenario;
}

/** What the command line asked for. */
export interface AxisArgs {
  vary?: string[];
  steps?: number;
  log?: boolean;
  device?: string[];
  edge?: string[];
}

const NUM = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

function parseNumber(t: string, field: string): number {
  const s = t.trim();
  if (!NUM.test(s)) throw new UserError(`--vary ${field}: '${t}' is not a number (expected FIELD=LO..HI with --steps N, or FIELD=v1,v2,...)`);
  return Number(s);
}

/** Values of one numeric axis from 'LO..HI' (with steps, log) or 'v1,v2,...'. */
function numericValues(field: NumericField, spec: string, steps: number | undefined, log: boolean): { values: number[]; range: boolean; rounded: boolean } {
  const name = field.path;
  let values: number[];
  let range = false;
  const m = /^(.*)\.\.(.*)$/.exec(spec);
  if (m) {
    range = true;
    const lo = parseNumber(m[1], name);
    const hi = parseNumber(m[2], name);
    if (steps === undefined) throw new UserError(`--vary ${name}=${spec}: a range needs --steps N (N >= 2 values from LO to HI)`);
    if (!(lo < hi)) throw new UserError(`--vary ${name}=${spec}: LO (${lo}) must be below HI (${hi})`);
    if (log && !(lo > 0)) throw new UserError(`--vary ${name}=${spec}: --log needs LO above 0`);
    values = Array.from({ length: steps }, (_, i) => {
      if (i === steps - 1) return hi;
      const t = i / (steps - 1);
      return log ? Math.exp(Math.log(lo) + t * (Math.log(hi) - Math.log(lo))) : lo + t * (hi - lo);
    });
    values = values.map((v) => Number(v.toPrecision(12)));
  } else {
    values = spec.split(',').map((t) => parseNumber(t, name));
    if (values.length < 2) throw new UserError(`--vary ${name}=${spec}: give at least two values (v1,v2,...) or a range LO..HI with --steps N`);
    if (new Set(values).size !== values.length) throw new UserError(`--vary ${name}=${spec}: values repeat`);
  }
  let rounded = false;
  if (field.integer) {
    const r = values.map(Math.round);
    rounded = r.some((v, i) => v !== values[i]);
    if (rounded && !range) throw new UserError(`--vary ${name}: an integer field, got ${spec}`);
    values = [...new Set(r)];
    if (values.length < 2) throw new UserError(`--vary ${name}=${spec}: fewer than two distinct integers`);
  }
  for (const v of values) {
    if ((field.min !== undefined && v < field.min) || (field.max !== undefined && v > field.max)) {
      throw new UserError(`--vary ${name}: ${v} is outside the field's range (${field.min ?? '-inf'} to ${field.max ?? 'inf'})`);
    }
  }
  return { values, range, rounded };
}

/** Profile names from repeated or comma-separated flags. */
function profileList(v: string[] | undefined): string[] | undefined {
  if (!v) return undefined;
  const names = v.flatMap((x) => String(x).split(',')).map((x) => x.trim()).filter(Boolean);
  return names;
}

/** The scenario file and its YAML data, as a sweep needs them (it edits the data per point). */
export function readScenarioData(nameOrPath: string): { file: string; raw: Record<string, unknown> } {
  const file = path.resolve(resolveNamed(nameOrPath, SCENARIOS_DIR));
  return { file, raw: parseYaml(readTextFile(file, 'scenario'), file) as Record<string, unknown> };
}

/** Validates YAML data as a scenario, as loadScenario does (trace paths made absolute). */
export function scenarioFromData(raw: unknown, file: string): Scenario {
  const s = parseScenario(raw, file);
  const dir = path.dirname(file);
  return { ...s, uplink: resolveLinkSpec(s.uplink, dir), downlink: resolveLinkSpec(s.downlink, dir) };
}

/**
 * Parses the axes and builds every grid point's scenario (the first axis varies fastest).
 * Every problem is a UserError naming the field and the valid choices, raised before anything
 * is simulated or written.
 */
export function buildSweep(file: string, raw: Record<string, unknown>, a: AxisArgs): { axes: Axis[]; points: SweepPoint[]; notes: string[] } {
  const base = scenarioFromData(raw, file) as unknown as Record<string, unknown>;
  if (a.steps !== undefined && !(Number.isInteger(a.steps) && a.steps >= 2 && a.steps <= 1000)) {
    throw new UserError(`--steps: expected an integer from 2 to 1000 (values from LO to HI of ${a.vary?.[0]?.split('=')[0] ?? 'the varied field'}), got ${a.steps}`);
  }
  const axes: Axis[] = [];
  const fields: Array<NumericField | undefined> = [];
  const notes: string[] = [];
  for (const v of a.vary ?? []) {
    const eq = v.indexOf('=');
    if (eq <= 0) throw new UserError(`--vary '${v}': expected FIELD=LO..HI (with --steps N [--log]) or FIELD=v1,v2,...`);
    const f = findField(v.slice(0, eq), base, raw);
    if (fields.some((g) => g?.path === f.path)) throw new UserError(`--vary ${f.path}: given twice`);
    const { values, range, rounded } = numericValues(f, v.slice(eq + 1).trim(), a.steps, !!a.log);
    if (rounded) notes.push(`${f.path} is an integer field: the range's values are rounded (${values.join(', ')})`);
    const note = fieldNote(f, base);
    if (note) notes.push(note);
    axes.push({ field: f.path, kind: 'numeric', values, log: range && !!a.log, note });
    fields.push(f);
  }
  for (const [flag, field] of [['device', 'devices.profile'], ['edge', 'edge.profile']] as const) {
    const names = profileList(a[flag]);
    if (!names) continue;
    if (names.length < 2) throw new UserError(`--${flag}: give at least two profiles (a,b,...) to vary ${field} over; got '${names.join(',')}'`);
    if (new Set(names).size !== names.length) throw new UserError(`--${flag}: profiles repeat (${names.join(', ')})`);
    axes.push({ field, kind: 'profile', values: names, log: false });
    fields.push(undefined);
  }
  if (axes.length === 0) throw new UserError('sweep: name what to vary: --vary FIELD=LO..HI --steps N [--log], --vary FIELD=v1,v2,..., --device a,b or --edge a,b');
  if (axes.length > 2) throw new UserError(`sweep: at most two axes (a grid), got ${axes.length}: ${axes.map((x) => x.field).join(', ')}`);

  const points: SweepPoint[] = [];
  const n0 = axes[0].values.length;
  const n1 = axes[1]?.values.length ?? 1;
  for (let j = 0; j < n1; j++) {
    for (let i = 0; i < n0; i++) {
      const values = axes.length === 2 ? [axes[0].values[i], axes[1].values[j]] : [axes[0].values[i]];
      let data = raw;
      axes.forEach((ax, k) => {
        const f = fields[k];
        data = setField(data, base, f ?? { path: ax.field, integer: false }, values[k]);
      });
      let scenario: Scenario;
      try {
        scenario = scenarioFromData(data, file);
      } catch (e) {
        const what = axes.map((ax, k) => `${ax.field}=${values[k]}`).join(', ');
        throw new UserError(`sweep point ${what}: ${(e as Error).message}`);
      }
      points.push({ index: points.length, values, scenario });
    }
  }
  return { axes, points, notes };
}

/** A point's value on an axis, in words ('2.4 Mbit/s', 'jetson-nano'). */
export function axisValueText(ax: Axis, v: number | string): string {
  return typeof v === 'number' ? formatValue(ax.field, v) : v;
}
