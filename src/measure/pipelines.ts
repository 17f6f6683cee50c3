/**
 * Pipelines: (model, split point, codec, codec parameters). A split of 'input' means the
 * device sends the (compressed) image and the server runs the whole model.
 */
import { FeatureCodecSpec, naiveSplitCodecSpecs, specParams, ENTROPY_STAGES } from '../codecs/feature';
import { ImageCodecSpec, imageSpecParams, inputCodecSpecs, IMAGE_FORMATS } from '../codecs/image';

/** The split name of input-compression pipelines. */
export const INPUT_SPLIT = 'input';

/** How a pipeline splits the work, for reports. */
export type PipelineKind = 'input' | 'naive' | 'bottleneck' | 'channel-reduction';

/** A pipeline as data. */
export interface PipelineSpec {
  model: string;
  split: string;
  codec: FeatureCodecSpec | ImageCodecSpec;
  kind: PipelineKind;
}

/** What pipeline enumeration needs to know about a model (from its meta.json). */
export interface ModelInfo {
  name: string;
  kind: 'teacher' | 'student' | 'channel-reduction';
  splitPoints: string[];
  bottleneckLayer?: string;
}

/** Whether a codec spec is an input (image) codec. */
export function isImageSpec(spec: FeatureCodecSpec | ImageCodecSpec): spec is ImageCodecSpec {
  return (IMAGE_FORMATS as readonly string[]).includes(spec.codec);
}

/** Codec parameters as a stable string ('' when none). */
export function codecParams(spec: FeatureCodecSpec | ImageCodecSpec): string {
  return isImageSpec(spec) ? imageSpecParams(spec) : specParams(spec);
}

/** A pipeline's unique name: model/split/codec[params], e.g. 'teacher/stage2/quant[bits=8;...]'. */
export function pipelineName(p: { model: string; split: string; codec: FeatureCodecSpec | ImageCodecSpec }): string {
  const params = codecParams(p.codec);
  return `${p.model}/${p.split}/${p.codec.codec}${params ? `[${params}]` : ''}`;
}

/**
 * Every pipeline of the zoo: the teacher with each input codec and with each naive-split
 * codec at each of its split points; each student at its bottleneck with its learned prior;
 * the channel-reduction baseline at its bottleneck with its fixed quantiser and each
 * lossless stage.
 */
export function zooPipelines(models: ModelInfo[]): PipelineSpec[] {
  const out: PipelineSpec[] = [];
  for (const m of models) {
    if (m.kind === 'teacher') {
      for (const codec of inputCodecSpecs()) out.push({ model: m.name, split: INPUT_SPLIT, codec, kind: 'input' });
      for (const split of m.splitPoints) {
        for (const codec of naiveSplitCodecSpecs()) out.push({ model: m.name, split, codec, kind: 'naive' });
      }
    } else if (m.kind === 'student') {
      if (!m.bottleneckLayer) throw new Error(`model ${m.name}: a student needs bottleneck.layer in meta.json`);
      out.push({ model: m.name, split: m.bottleneckLayer, codec: { codec: 'factorized' }, kind: 'bottleneck' });
    } else {
      if (!m.bottleneckLayer) throw new Error(`model ${m.name}: channel-reduction needs bottleneck.layer in meta.json`);
      for (const entropy of ENTROPY_STAGES) {
        out.push({ model: m.name, split: m.bottleneckLayer, codec: { codec: 'fixedquant', entropy }, kind: 'channel-reduction' });
      }
    }
  }
  return out;
}
