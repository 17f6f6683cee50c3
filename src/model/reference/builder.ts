/**
 * Two ways to run the same network definition written with tfjs layer objects:
 * - ShapeBuilder walks the definition with computeOutputShape only, so it yields the layer
 *   graph (classes, configs, shapes, wiring) without allocating a single weight; VGG-16's
 *   138 M parameters cost nothing to analyse.
 * - ModelBuilder applies the same layers to symbolic tensors and returns a real
 *   tf.LayersModel (random weights) that can be run; the caller disposes it.
 */
import { tf } from '../backend';
import type { GraphLayer, LayerGraph } from '../analysis';

/** An opaque handle to a tensor inside a network being built. */
export interface Ref {
  readonly id: number;
}

/** What a network definition needs: an input, layer application and shapes. */
export interface NetBuilder {
  /** Declares the model input with a per-sample shape (e.g. [224, 224, 3]). */
  input(shape: number[], name: string): Ref;
  /** Applies a tfjs layer (created with tf.layers.*) to one or more tensors. */
  apply(layer: tf.layers.Layer, inputs: Ref | Ref[]): Ref;
  /** The per-sample shape of a tensor. */
  shape(ref: Ref): number[];
}

/** Builds the layer graph only (no weights). */
export class ShapeBuilder implements NetBuilder {
  private readonly layers: GraphLayer[] = [];
  private readonly refs: Array<{ shape: number[]; layer: string }> = [];
  private readonly names = new Set<string>();

  private add(layer: GraphLayer): Ref {
    if (this.names.has(layer.name)) throw new Error(`duplicate layer name ${layer.name}`);
    this.names.add(layer.name);
    this.layers.push(layer);
    this.refs.push({ shape: layer.outputShape, layer: layer.name });
    return { id: this.refs.length - 1 };
  }

  input(shape: number[], name: string): Ref {
    return this.add({
      name,
      className: 'InputLayer',
      config: { batchInputShape: [null, ...shape], name },
      inputShapes: [],
      outputShape: shape,
      inbound: [],
    });
  }

  apply(layer: tf.layers.Layer, inputs: Ref | Ref[]): Ref {
    const list = Array.isArray(inputs) ? inputs : [inputs];
    const inShapes = list.map((r) => this.refs[r.id].shape);
    const batched = inShapes.map((s) => [null, ...s]);
    const outShape = layer.computeOutputShape(
      (list.length === 1 ? batched[0] : batched) as Parameters<tf.layers.Layer['computeOutputShape']>[0],
    ) as (number | null)[];
    const perSample = outShape.slice(1);
    if (perSample.some((d) => d === null || d < 0)) {
      throw new Error(`layer ${layer.name}: output shape ${JSON.stringify(outShape)} is not fixed`);
    }
    return this.add({
      name: layer.name,
      className: layer.getClassName(),
      config: layer.getConfig() as Record<string, unknown>,
      inputShapes: inShapes,
      outputShape: perSample as number[],
      inbound: list.map((r) => this.refs[r.id].layer),
    });
  }

  shape(ref: Ref): number[] {
    return this.refs[ref.id].shape;
  }

  /** The finished graph with the given tensors as outputs. */
  graph(name: string, outputs: Ref[]): LayerGraph {
    return { name, layers: this.layers.slice(), outputs: outputs.map((r) => this.refs[r.id].layer) };
  }
}

/** Builds a real tf.LayersModel (weights are allocated when layers are applied). */
export class ModelBuilder implements NetBuilder {
  private readonly tensors: tf.SymbolicTensor[] = [];
  private readonly inputs: tf.SymbolicTensor[] = [];

  input(shape: number[], name: string): Ref {
    const t = tf.input({ shape, name });
    this.inputs.push(t);
    this.tensors.push(t);
    return { id: this.tensors.length - 1 };
  }

  apply(layer: tf.layers.Layer, inputs: Ref | Ref[]): Ref {
    const list = Array.isArray(inputs) ? inputs.map((r) => this.tensors[r.id]) : this.tensors[inputs.id];
    const out = layer.apply(list) as tf.SymbolicTensor;
    this.tensors.push(out);
    return { id: this.tensors.length - 1 };
  }

  shape(ref: Ref): number[] {
    return (this.tensors[ref.id].shape as number[]).slice(1);
  }

  /** The finished model with the given tensors as outputs. */
  model(name: string, outputs: Ref[]): tf.LayersModel {
    return tf.model({ name, inputs: this.inputs, outputs: outputs.map((r) => this.tensors[r.id]) });
  }
}
