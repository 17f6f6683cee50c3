/**
 * Reference ImageNet architectures built with the tfjs layers API (random weights, nothing
 * downloaded), registered under the names the CLI accepts.
 */
import { tf } from '../backend';
import { analyzeGraph, type LayerGraph, type ModelAnalysis, type Precision } from '../analysis';
import { ModelBuilder, ShapeBuilder, type NetBuilder, type Ref } from './builder';
import { efficientnetB0 } from './efficientnet';
import { mobilenetv2 } from './mobilenetv2';
import { resnet18, resnet50 } from './resnet';
import { vgg16 } from './vgg16';

type Definition = (b: NetBuilder, size: number, classes: number) => Ref;

/** A reference network and its published totals at 224×224 (for the 1 % checks). */
export interface ReferenceSpec {
  define: Definition;
  published: { params: number; macs: number; source: string };
}

/** Reference networks by CLI name. */
export const REFERENCE_MODELS: Record<string, ReferenceSpec> = {
  resnet18: {
    define: resnet18,
    published: { params: 11.69e6, macs: 1.81e9, source: 'torchvision model docs (11,689,512 params, 1.81 GFLOPS)' },
  },
  resnet50: {
    define: resnet50,
    published: { params: 25.56e6, macs: 4.09e9, source: 'torchvision model docs (25,557,032 params, 4.09 GFLOPS)' },
  },
  mobilenetv2: {
    define: mobilenetv2,
    published: { params: 3.5e6, macs: 0.3e9, source: 'Sandler et al. 2018 Table 4 (3.4 M, 300 M MAdds); torchvision 3,504,872' },
  },
  vgg16: {
    define: vgg16,
    published: { params: 138.36e6, macs: 15.47e9, source: 'torchvision model docs (138,357,544 params, 15.47 GFLOPS)' },
  },
  'efficientnet-b0': {
    define: efficientnetB0,
    published: { params: 5.29e6, macs: 0.39e9, source: 'Tan & Le 2019 Table 2 (5.3 M, 0.39 B FLOPS); torchvision 5,288,548' },
  },
};

/** Names accepted by --model for reference networks. */
export const REFERENCE_NAMES = Object.keys(REFERENCE_MODELS);

function spec(name: string): ReferenceSpec {
  const s = REFERENCE_MODELS[name];
  if (!s) throw new Error(`unknown reference model ${name}`);
  return s;
}

/** The layer graph of a reference network at a square input size, without weights. */
export function referenceGraph(name: string, size = 224, classes = 1000): LayerGraph {
  const b = new ShapeBuilder();
  const out = spec(name).define(b, size, classes);
  return b.graph(name, [out]);
}

/** Analysis of a reference network at a square input size (no weights allocated). */
export function analyzeReference(name: string, size = 224, precision: Precision = 'fp32'): ModelAnalysis {
  return analyzeGraph(referenceGraph(name, size), precision);
}

/** A runnable tf.LayersModel of a reference network with random weights; dispose it after use. */
export function buildReferenceModel(name: string, size = 224, classes = 1000): tf.LayersModel {
  const b = new ModelBuilder();
  const out = spec(name).define(b, size, classes);
  return b.model(name, [out]);
}
