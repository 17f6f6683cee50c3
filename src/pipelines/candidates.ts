/**
 * What can be evaluated on a model: its split points, which codecs apply where, and the
 * candidate pipelines `all` expands to. Read from meta.json only (no tfjs).
 */
import { CODECS, sweepSpecs, type CodecEntry, type CodecNeeds, type CodecSpec } from '../codecs/registry';
import { modelSource, type ModelKind, type ZooEntry } from '../model/meta';
import { DEVICE_ONLY, INPUT_SPLIT, makeRef, type PipelineRef } from './ref';

/** What pipeline expansion needs to know about a model. */
export interface ModelInfo {
  name: string;
  dir: string;
  hash: string;
  kind: ModelKind;
  splitPoints: string[];
  bottleneckLayer?: string;
  /** Model-specific codec data the model's meta.json carries. */
  has: { prior: boolean; fixedQuantizer: boolean; hyperprior: boolean };
}

/** ModelInfo of a zoo entry. */
export function modelInfo(e: ZooEntry): ModelInfo {
  const b = e.meta.bottleneck;
  return {
    name: e.name,
    dir: modelSource(e),
    hash: e.hash,
    kind: e.meta.kind,
    splitPoints: [...e.meta.splitPoints],
    bottleneckLayer: b?.layer,
    has: {
      prior: e.meta.kind !== 'teacher' && e.meta.kind !== 'channel-reduction' && !!b?.entropy && !!b?.medians && !b?.hyperprior,
      fixedQuantizer: e.meta.kind === 'channel-reduction' && b?.quantBits !== undefined && !!b?.scale && !!b?.zeroPoint,
      hyperprior: e.meta.kind !== 'teacher' && e.meta.kind !== 'channel-reduction' && !!b?.hyperprior,
    },
  };
}

/** Every split name a pipeline of this model may use: the two extremes and the split points. */
export function splitNames(m: ModelInfo): string[] {
  return [DEVICE_ONLY, INPUT_SPLIT, ...m.splitPoints];
}

/**
 * Why a codec cannot be used at a split of a model, or undefined when it can: input codecs
 * only at 'input', feature codecs only at split points, model-specific codecs only at the
 * model's bottleneck and only when its meta.json has their tables.
 */
export function codecMismatch(m: ModelInfo, split: string, e: CodecEntry): string | undefined {
  if (split === DEVICE_ONLY) return `'${DEVICE_ONLY}' takes no codec (nothing is sent)`;
  if (e.kind === 'input') return split === INPUT_SPLIT ? undefined : `'${e.key}' is an input codec: use it at split '${INPUT_SPLIT}'`;
  if (split === INPUT_SPLIT) return `'${e.key}' codes a tensor, not an image: use it at a split point (${m.splitPoints.join(', ')})`;
  if (e.needs) {
    if (!m.has[e.needs]) return `'${e.key}' needs the model's ${NEEDS_WORDS[e.needs]}, which ${m.name} does not have`;
    if (split !== m.bottleneckLayer) return `'${e.key}' codes ${m.name}'s bottleneck: use it at split '${m.bottleneckLayer}'`;
  }
  return undefined;
}

const NEEDS_WORDS: Record<CodecNeeds, string> = {
  prior: 'learned entropy prior (a student)',
  fixedQuantizer: 'trained quantiser (channel-reduction)',
  hyperprior: 'hyperprior (a hyperprior student or input codec)',
};

/**
 * The models a sweep of a model-specific codec applies to when it names none: for
 * `factorized`, the SC2 students (kind `student`), as the shipped scenarios mean it; the
 * End-to-End models and neural input codecs that also have a factorized prior are named with
 * `model:`. For the other codecs, every model that has what they need.
 */
export function sweepTargets(models: Iterable<ModelInfo>, e: CodecEntry): ModelInfo[] {
  const ms = [...models];
  if (!e.needs) return [];
  return ms.filter((m) => m.has[e.needs!] && (e.needs !== 'prior' || m.kind === 'student'));
}

/** Codecs usable at a split of a model, in registry order. */
export function codecsAt(m: ModelInfo, split: string): CodecEntry[] {
  return CODECS.filter((e) => codecMismatch(m, split, e) === undefined);
}

/**
 * The candidates of one model, what `all` means for it: a model with a learned bottleneck
 * (a student, the channel-reduction baseline) is evaluated at its bottleneck with its own
 * codec settings; any other model (the teacher) gives both extremes (device-only; the input
 * sent with every input-codec setting of the sweeps) and every split point with every
 * generic feature-codec setting.
 */
export function candidates(m: ModelInfo): PipelineRef[] {
  const out: PipelineRef[] = [];
  const add = (split: string, specs: CodecSpec[]) => { for (const c of specs) out.push(makeRef(m.name, split, c, m.kind)); };
  if (m.bottleneckLayer && (m.has.prior || m.has.fixedQuantizer || m.has.hyperprior)) {
    for (const e of codecsAt(m, m.bottleneckLayer).filter((x) => x.needs)) add(m.bottleneckLayer, sweepSpecs(e));
    return out;
  }
  out.push(makeRef(m.name, DEVICE_ONLY, undefined, m.kind));
  for (const e of codecsAt(m, INPUT_SPLIT)) add(INPUT_SPLIT, sweepSpecs(e));
  for (const split of m.splitPoints) for (const e of codecsAt(m, split)) add(split, sweepSpecs(e));
  return out;
}
