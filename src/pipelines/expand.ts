/**
 * Expansion: turns a scenario's `pipelines` (names, sweeps, `all`, declared pipelines) into
 * the list of pipelines to evaluate, checking every model, split, codec and parameter
 * against the models' metadata and the codec registry. Every problem of the file is
 * collected and reported at once, with the valid names, before anything is measured.
 */
import * as path from 'path';
import { declaredPipelineSchema, isDeclaredEntry, type DeclaredPipelineSpec, type Scenario, type SweepEntry } from '../config/scenario';
import { codecEntry, CODEC_KEYS, CODECS, makeCodecSpec, parseCodecName, type CodecSpec } from '../codecs/registry';
import { isModelPath, listZooModels, resolveZooModel, ZOO_DIR } from '../model/meta';
import { UserError } from '../util/errors';
import { candidates, codecMismatch, modelInfo, splitNames, sweepTargets, type ModelInfo } from './candidates';
import { DEVICE_ONLY, INPUT_SPLIT, makeRef, pipelineName, type PipelineRef } from './ref';

/** Problems found in one file, reported together. */
export class Problems {
  readonly lines: string[] = [];
  constructor(readonly file: string) {}
  add(field: string | undefined, message: string): void {
    this.lines.push(field ? `${this.file}: field '${field}': ${message}` : `${this.file}: ${message}`);
  }
  /** Throws one UserError with every problem, if there are any. */
  throwIfAny(): void {
    if (this.lines.length === 0) return;
    const head = this.lines.length > 1 ? `${this.lines.length} problems; nothing was run:\n` : '';
    throw new UserError(head + this.lines.join('\n'));
  }
}

/** What expansion produced. */
export interface Expanded {
  /** Every model a pipeline uses (and the reference model), by name. */
  models: Map<string, ModelInfo>;
  /** Measured pipelines, without duplicates, in the order the scenario names them. */
  measured: PipelineRef[];
  declared: DeclaredPipelineSpec[];
  /** Name of the pipeline accuracy differences are paired against (a measured one), if any. */
  reference?: string;
  /** Name of the scenario's reference (unsplit) model. */
  model: string;
}

/** Cartesian product of parameter lists: {a: [1, 2], b: x} → [{a: 1, b: x}, {a: 2, b: x}]. */
function product(params: Record<string, unknown>): Array<Record<string, unknown>> {
  let out: Array<Record<string, unknown>> = [{}];
  for (const [k, v] of Object.entries(params)) {
    const values = Array.isArray(v) ? v : [v];
    out = out.flatMap((o) => values.map((x) => ({ ...o, [k]: x })));
  }
  return out;
}

const list = <T>(v: T | T[] | undefined): T[] | undefined => (v === undefined ? undefined : Array.isArray(v) ? v : [v]);

/**
 * Expands and checks a scenario's pipelines. The two extremes are always evaluated when
 * anything is measured: the reference model on the device alone, and every input codec
 * (at its default setting, unless the scenario names settings of it).
 */
export function expandPipelines(s: Scenario, file: string, opts: { zooDir?: string; problems?: Problems } = {}): Expanded {
  const zooDir = opts.zooDir ?? ZOO_DIR;
  // With a caller's problem list, the caller adds its own checks and throws.
  const P = opts.problems ?? new Problems(file);
  const dir = path.dirname(file);
  const models = new Map<string, ModelInfo>();
  let zooNames: string[] = [];
  try {
    zooNames = listZooModels(zooDir);
  } catch (e) {
    P.add(undefined, (e as Error).message);
  }
  /** Reads a model by zoo name or folder (relative to the scenario file); records a problem. */
  const load = (nameOrDir: string, field: string): ModelInfo | undefined => {
    const isPath = isModelPath(nameOrDir);
    try {
      const info = modelInfo(resolveZooModel(isPath ? path.resolve(dir, nameOrDir) : nameOrDir, zooDir));
      models.set(info.name, info);
      return info;
    } catch (e) {
      P.add(field, e instanceof UserError ? e.message : String(e));
      return undefined;
    }
  };
  const reference = load(s.model, 'model');
  const forAll = s.models ? s.models.map((m, i) => load(m, `models[${i}]`)) : zooNames.map((m) => load(m, 'models'));
  const known = (): string => [...new Set([...zooNames, ...models.keys()])].join(', ');
  const byName = (name: string, field: string): ModelInfo | undefined => {
    const m = models.get(name) ?? (zooNames.includes(name) ? load(name, field) : undefined);
    if (!m) P.add(field, `unknown model '${name}' (models: ${known()}; a model folder goes in 'model:' or 'models:' and is named by its folder name)`);
    return m;
  };

  const measured: PipelineRef[] = [];
  const seen = new Set<string>();
  const push = (r: PipelineRef) => {
    const n = pipelineName(r);
    if (!seen.has(n)) { seen.add(n); measured.push(r); }
  };
  /** Checks one (model, split, codec) combination and adds it. */
  const addOne = (m: ModelInfo, split: string, codec: CodecSpec | undefined, field: string): void => {
    if (!splitNames(m).includes(split)) {
      P.add(field, `'${split}' is not a split of ${m.name} (splits: ${splitNames(m).join(', ')})`);
      return;
    }
    if (split === DEVICE_ONLY) {
      if (codec) P.add(field, `'${DEVICE_ONLY}' takes no codec (nothing is sent)`);
      else push(makeRef(m.name, DEVICE_ONLY));
      return;
    }
    if (!codec) {
      P.add(field, `split '${split}' needs a codec (codecs here: ${CODECS.filter((e) => !codecMismatch(m, split, e)).map((e) => e.key).join(', ')})`);
      return;
    }
    const why = codecMismatch(m, split, codecEntry(codec.codec)!);
    if (why) P.add(field, why);
    else push(makeRef(m.name, split, codec, m.kind));
  };

  const declared: DeclaredPipelineSpec[] = [];
  const entries = s.pipelines === 'all' ? ['all'] : s.pipelines;
  entries.forEach((entry, i) => {
    const field = `pipelines[${i}]`;
    if (typeof entry === 'string') {
      const text = entry.trim();
      const parts = text.split('/');
      if (text === 'all') {
        for (const m of forAll) if (m) candidates(m).forEach(push);
      } else if (parts.length === 2 && (parts[1] === 'all' || parts[1] === DEVICE_ONLY)) {
        const m = byName(parts[0], field);
        if (m) (parts[1] === 'all' ? candidates(m).forEach(push) : addOne(m, DEVICE_ONLY, undefined, field));
      } else if (parts.length === 3) {
        const m = byName(parts[0], field);
        const c = parseCodecName(parts[2]);
        if (!c.ok) P.add(field, c.error);
        if (m && c.ok) addOne(m, parts[1], c.spec, field);
      } else {
        P.add(field, `'${text}' is not a pipeline name (expected 'model/split/codec[params]', 'model/${DEVICE_ONLY}', 'model/all' or 'all'; see 'splitsim pipelines')`);
      }
      return;
    }
    if (isDeclaredEntry(entry)) {
      declared.push(declaredPipelineSchema.parse(entry));
      return;
    }
    const sweep = entry as SweepEntry;
    const keys = Object.keys(sweep).filter((k) => k !== 'model' && k !== 'split');
    const unknown = keys.filter((k) => !codecEntry(k));
    for (const k of unknown) P.add(`${field}.${k}`, `unknown codec '${k}' (codecs: ${CODEC_KEYS.join(', ')})`);
    const codecKeys = keys.filter((k) => codecEntry(k));
    if (keys.length === 0) P.add(field, `a sweep names one codec with its parameters, e.g. {jpeg: {quality: [10, 50, 90]}} (codecs: ${CODEC_KEYS.join(', ')})`);
    if (codecKeys.length > 1) P.add(field, `a sweep names one codec, got ${codecKeys.join(', ')} (write one entry per codec)`);
    if (codecKeys.length !== 1 || unknown.length > 0) return;
    const key = codecKeys[0];
    const e = codecEntry(key)!;
    const specs: CodecSpec[] = [];
    for (const combo of product((sweep[key] ?? {}) as Record<string, unknown>)) {
      const r = makeCodecSpec(key, combo);
      if (r.ok) specs.push(r.spec);
      else P.add(`${field}.${key}`, r.error);
    }
    const named = list(sweep.model as string | string[] | undefined);
    const targets = (named ? named.map((n, j) => byName(n, `${field}.model${named.length > 1 ? `[${j}]` : ''}`)) : e.needs
      ? sweepTargets(models.values(), e)
      : [reference]).filter((m): m is ModelInfo => m !== undefined);
    if (!named && e.needs && targets.length === 0) P.add(field, `no model has what '${key}' needs (${e.needs})`);
    const splits = list(sweep.split as string | string[] | undefined);
    for (const m of targets) {
      const at = splits ?? (e.kind === 'input' ? [INPUT_SPLIT] : e.needs && m.bottleneckLayer ? [m.bottleneckLayer] : undefined);
      if (!at) {
        P.add(`${field}.split`, `required for feature codec '${key}' (split points of ${m.name}: ${m.splitPoints.join(', ')})`);
        continue;
      }
      for (const split of at) for (const spec of specs) addOne(m, split, spec, field);
    }
  });

  // Declared names must not collide with each other or with measured names.
  const names = new Set<string>(measured.map(pipelineName));
  declared.forEach((d) => {
    if (names.has(d.name)) P.add('pipelines', `duplicate pipeline name '${d.name}'`);
    names.add(d.name);
  });

  let referenceName: string | undefined;
  if (reference && (measured.length > 0 || s.reference)) {
    push(makeRef(reference.name, DEVICE_ONLY));
    for (const e of CODECS.filter((x) => x.kind === 'input')) {
      if (measured.some((r) => r.model === reference.name && r.split === INPUT_SPLIT && r.codec?.codec === e.key)) continue;
      const def = makeCodecSpec(e.key, {});
      if (def.ok) push(makeRef(reference.name, INPUT_SPLIT, def.spec));
    }
    referenceName = s.reference ?? `${reference.name}/${DEVICE_ONLY}`;
    if (!measured.some((r) => pipelineName(r) === referenceName)) {
      P.add('reference', `'${referenceName}' is not one of the scenario's measured pipelines (e.g. ${reference.name}/${DEVICE_ONLY})`);
    }
  }
  if (measured.length > 0) {
    if (!s.devices.profile) P.add('devices.profile', 'required: measured pipelines run their head on this hardware profile (profiles/<name>.yaml)');
    if (!s.edge.profile) P.add('edge.profile', 'required: measured pipelines run their tail on this hardware profile');
  }
  if (!opts.problems) P.throwIfAny();
  return { models, measured, declared, reference: referenceName, model: reference?.name ?? s.model };
}
