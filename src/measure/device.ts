/**
 * The SC2 benchmark's third axis: what the device must hold and compute for a pipeline.
 *
 * Device size = bits of every parameter and buffer the device holds to produce the payload,
 * as sc2bench counts an encoder's size: the head's weights (32-bit floats, the bottleneck's
 * medians included), plus the codec's own model data: a factorized prior's CDF tables (16-bit
 * entries, a 32-bit offset and length per channel), a hyperprior's networks h_a and h_s (32-bit
 * weights; the device runs both to choose each symbol's table) with the side information's
 * CDF tables and the Gaussian tables (16-bit entries, a 32-bit centre and scale per table), a
 * fixed quantiser's scales and zero points (32 bits each). Input codecs and generic feature
 * codecs hold no model (their libraries are not counted); device-only holds the whole model.
 *
 * Device MACs = multiply-accumulates of the head (model/analysis.ts) plus the hyperprior
 * networks; entropy coding itself is not counted (its time is the codec's CPU time).
 */
import * as path from 'path';
import type { FactorizedPrior } from '../codecs/feature';
import { hyperLayerMacs, hyperLayerParams, type HyperpriorModel } from '../codecs/hyperprior';
import { headLayers } from '../hardware/cost';
import { analyzeModelSpec } from '../hardware/model-source';
import type { ModelAnalysis } from '../model/analysis';
import { listZooModels, readZooMeta, type ZooMeta } from '../model/meta';
import { DEVICE_ONLY, INPUT_SPLIT } from '../pipelines/ref';

/** Device-side size and compute of one pipeline. */
export interface DeviceCost {
  /** Bits of parameters, buffers and tables on the device. */
  bits: number;
  /** Multiply-accumulates per sample on the device. */
  macs: number;
}

const cdfBits = (cdfs: number[][]): number => cdfs.reduce((s, c) => s + 16 * c.length, 0);

/** Bits of a factorized prior's tables (CDF entries at 16 bits, offset and length at 32 per channel). */
export function factorizedTableBits(e: Pick<FactorizedPrior, 'cdfs'>): number {
  return cdfBits(e.cdfs) + 64 * e.cdfs.length;
}

/** Bits and MACs of a hyperprior codec on the device (networks, side-information and Gaussian tables). */
export function hyperpriorDevice(h: HyperpriorModel): DeviceCost {
  const weights = 32 * (hyperLayerParams(h.analysis) + hyperLayerParams(h.synthesis));
  const z = factorizedTableBits(h.z.entropy) + 32 * h.z.medians.length;
  const gaussian = cdfBits(h.gaussian.cdfs) + 64 * h.gaussian.cdfs.length;
  const [H, W] = h.latentShape;
  const [zh, zw] = h.z.latentShape;
  return { bits: weights + z + gaussian, macs: hyperLayerMacs(h.analysis, H, W) + hyperLayerMacs(h.synthesis, zh, zw) };
}

/** The codec's own model data on the device (beyond the head), from the model's meta.json. */
export function codecDevice(meta: ZooMeta, codec: string): DeviceCost {
  const b = meta.bottleneck;
  if (!b) return { bits: 0, macs: 0 };
  if (codec === 'factorized' && b.entropy) return { bits: factorizedTableBits(b.entropy), macs: 0 };
  if (codec === 'hyperprior' && b.hyperprior) {
    return hyperpriorDevice({ ...(b.hyperprior as unknown as HyperpriorModel), latentShape: [...b.latentShape] });
  }
  if (codec === 'fixedquant' && b.scale) return { bits: 64 * b.scale.length, macs: 0 };
  return { bits: 0, macs: 0 };
}

/** Head weights and MACs of a split of an analysed model. */
export function headCost(a: ModelAnalysis, split: string): DeviceCost {
  if (split === DEVICE_ONLY) return { bits: 32 * a.totalParams, macs: a.totalMacs };
  if (split === INPUT_SPLIT) return { bits: 0, macs: 0 };
  const head = headLayers(a, split);
  let params = 0, macs = 0;
  for (const l of a.layers) {
    if (!head.has(l.name)) continue;
    params += l.params;
    macs += l.macs;
  }
  return { bits: 32 * params, macs };
}

/**
 * Device costs of (model, split, codec) combinations of zoo models; models not in the zoo get
 * NaN (their folders are not known from a measurements file). Keyed by `model/split/codec`.
 */
export async function deviceCosts(rows: Array<{ model: string; split: string; codec: string }>, zooDir: string): Promise<Map<string, DeviceCost>> {
  let zoo: string[] = [];
  try {
    zoo = listZooModels(zooDir);
  } catch {
    zoo = [];
  }
  const analyses = new Map<string, { a: ModelAnalysis; meta: ZooMeta }>();
  const out = new Map<string, DeviceCost>();
  for (const r of rows) {
    const key = `${r.model}/${r.split}/${r.codec}`;
    if (out.has(key)) continue;
    if (r.split === INPUT_SPLIT) {
      out.set(key, { bits: 0, macs: 0 });
      continue;
    }
    if (!zoo.includes(r.model)) {
      out.set(key, { bits: NaN, macs: NaN });
      continue;
    }
    let m = analyses.get(r.model);
    if (!m) {
      // The hardware commands' analysis: a zoo model's model.json, or its model.onnx alone.
      m = { a: (await analyzeModelSpec(r.model, { zooDir })).analysis, meta: readZooMeta(path.join(zooDir, r.model)) };
      analyses.set(r.model, m);
    }
    const h = headCost(m.a, r.split);
    const c = r.split === DEVICE_ONLY ? { bits: 0, macs: 0 } : codecDevice(m.meta, r.codec);
    out.set(key, { bits: h.bits + c.bits, macs: h.macs + c.macs });
  }
  return out;
}
