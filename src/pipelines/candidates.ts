/**
 * What can be evaluated on a model: its split points, which codecs apply where, and the
 * candidate pipelines `all` expands to. Read from meta.json only (no tfjs).
 */
import { CODECS, sweepSpecs, type CodecEntry, type CodecSpec } from '../codecs/registry';
import { modelSource, type ZooEntry } from '../model/meta';
import { DEVICE_ONLY, INPUT_SPLIT, makeRef, type PipelineRef } from './ref';

/** What pipeline expansion needs to know about a model. */
export interface ModelInfo {
  name: string;
  dir: string;
  hash: string;
  kind: 'teacher' | 'student' | 'channel-reduction';
  splitPoints: string[];
  bottleneckLayer?: string;
  /** Model-specific codec data the model's meta.json carries. */
  has: { prior: boolean; fixedQuantizer: boolean };
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
      prior: e.meta.kind === 'student' && !!b?.entropy && !!b?.medians,
      fixedQuantizer: e.meta.kind === 'channel-reduction' && b?.quantBits !== undefined && !!b?.scale && !!b?.zeroPoint,
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
    const have = e.needs === 'prior' ? m.has.prior : m.has.fixedQuantizer;
    if (!have) return `'${e.key}' needs the model's ${e.needs === 'prior' ? 'learned entropy prior (a student)' : 'trained quantiser (channel-reduction)'}, which ${m.name} does not have`;
    if (split !== m.bottleneckLayer) return `'${e.key}' codes ${m.name}'s bottleneck: use it at split '${m.bottleneckLayer}'`;
  }
  return undefined;
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
  const add = (split: string, specs: CodecSpec[]) => { for (const c of specs) out.push(makeRef(m.name, split, c)); };
  if (m.bottleneckLayer && (m.has.prior || m.has.fixedQuantizer)) {
    for (const e of codecsAt(m, m.bottleneckLayer).filter((x) => x.needs)) add(m.bottleneckLayer, sweepSpecs(e));
    return out;
  }
  out.push(makeRef(m.name, DEVICE_ONLY));
  for (const e of codecsAt(m, INPUT_SPLIT)) add(INPUT_SPLIT, sweepSpecs(e));
  for (const split of m.splitPoints) for (const e of codecsAt(m, split)) add(split, sweepSpecs(e));
  return out;
}
