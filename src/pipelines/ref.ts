/**
 * A pipeline as data: which model, where it is split, and which codec setting carries what
 * crosses the network. Its name is the one string that identifies it everywhere (scenarios,
 * caches, CSVs): 'model/split/codec[params]', e.g. 'teacher/stage2/quant[bits=4;...]', or
 * 'model/device-only' when nothing is offloaded.
 */
import { codecName, codecParamsString, entryOf, type CodecSpec } from '../codecs/registry';

/** The split of input-compression pipelines: the device sends the (compressed) image. */
export const INPUT_SPLIT = 'input';
/** The split of the other extreme: the whole model runs on the device, nothing is offloaded. */
export const DEVICE_ONLY = 'device-only';

/**
 * How a pipeline divides the work, for reports: the two extremes; naive splits (generic
 * quantisers and lossless stages on an activation); codec feature compression (an image codec
 * on the tiled activation); the SC2 students' factorized bottleneck; the channel-reduction
 * baseline; End-to-End models; hyperprior students; neural input codecs (the device runs a
 * learned image codec's analysis, the server its synthesis and the whole teacher).
 */
export type PipelineKind =
  | 'device-only' | 'input' | 'naive' | 'codec-feature' | 'bottleneck' | 'channel-reduction'
  | 'end-to-end' | 'hyperprior-student' | 'neural-input';

/** Pipeline kinds of learned bottlenecks whose bytes have a model estimate. */
export const LEARNED_KINDS: readonly PipelineKind[] = ['bottleneck', 'end-to-end', 'hyperprior-student', 'neural-input'];

/** One measured pipeline. `codec` is absent only for device-only. */
export interface PipelineRef {
  model: string;
  split: string;
  codec?: CodecSpec;
  kind: PipelineKind;
}

/** The kind of a (model, split, codec) combination; modelKind is the model's meta.json kind. */
export function kindOf(split: string, codec: CodecSpec | undefined, modelKind?: string): PipelineKind {
  if (split === DEVICE_ONLY) return 'device-only';
  if (split === INPUT_SPLIT) return 'input';
  const entry = codec ? entryOf(codec) : undefined;
  const needs = entry?.needs;
  if (needs === 'fixedQuantizer') return 'channel-reduction';
  if (needs === 'prior' || needs === 'hyperprior') {
    if (modelKind === 'input-codec') return 'neural-input';
    if (modelKind === 'end-to-end') return 'end-to-end';
    if (modelKind === 'hyperprior-student') return 'hyperprior-student';
    return 'bottleneck';
  }
  return entry?.imageOnFeatures ? 'codec-feature' : 'naive';
}

/** Builds a ref, deriving its kind (from the model's kind too, when given). */
export function makeRef(model: string, split: string, codec?: CodecSpec, modelKind?: string): PipelineRef {
  return { model, split, ...(codec ? { codec } : {}), kind: kindOf(split, codec, modelKind) };
}

/** The pipeline's unique name. */
export function pipelineName(p: { model: string; split: string; codec?: CodecSpec }): string {
  if (p.split === DEVICE_ONLY || !p.codec) return `${p.model}/${DEVICE_ONLY}`;
  return `${p.model}/${p.split}/${codecName(p.codec)}`;
}

/** The codec key of a ref ('' for device-only). */
export function codecKey(p: { codec?: CodecSpec }): string {
  return p.codec?.codec ?? '';
}

/** The codec parameters of a ref as 'k=v;k=v' ('' when none). */
export function codecParams(p: { codec?: CodecSpec }): string {
  return p.codec ? codecParamsString(p.codec) : '';
}
