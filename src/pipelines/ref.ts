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

/** How a pipeline divides the work, for reports. */
export type PipelineKind = 'device-only' | 'input' | 'naive' | 'bottleneck' | 'channel-reduction';

/** One measured pipeline. `codec` is absent only for device-only. */
export interface PipelineRef {
  model: string;
  split: string;
  codec?: CodecSpec;
  kind: PipelineKind;
}

/** The kind of a (model, split, codec) combination. */
export function kindOf(split: string, codec: CodecSpec | undefined): PipelineKind {
  if (split === DEVICE_ONLY) return 'device-only';
  if (split === INPUT_SPLIT) return 'input';
  const needs = codec ? entryOf(codec).needs : undefined;
  return needs === 'prior' ? 'bottleneck' : needs === 'fixedQuantizer' ? 'channel-reduction' : 'naive';
}

/** Builds a ref, deriving its kind. */
export function makeRef(model: string, split: string, codec?: CodecSpec): PipelineRef {
  return { model, split, ...(codec ? { codec } : {}), kind: kindOf(split, codec) };
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
