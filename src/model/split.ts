import { UserError } from '../util/errors';
import { tf } from './backend';
import type { ZooModel } from './zoo';

/** A model cut at a layer: head = input..that layer, tail = the rest, fed with its output. */
export interface SplitModel {
  head: tf.LayersModel;
  tail: tf.LayersModel;
  splitPoint: string;
}

type SymTensor = tf.SymbolicTensor;

/** Layers whose outputs the given layer depends on (itself included). */
function ancestors(layer: tf.layers.Layer): Set<tf.layers.Layer> {
  const seen = new Set<tf.layers.Layer>();
  const stack = [layer];
  while (stack.length > 0) {
    const l = stack.pop()!;
    if (seen.has(l)) continue;
    seen.add(l);
    for (const inb of l.inboundNodes[0]?.inboundLayers ?? []) stack.push(inb);
  }
  return seen;
}

// Zoo models are plain DAGs: every layer is applied once in the loaded model, so node 0 is the
// original graph; splitting adds further nodes (the tails reuse the layers) that must be ignored.
function firstNodeInputs(layer: tf.layers.Layer): SymTensor[] {
  return layer.inboundNodes[0]?.inputTensors ?? [];
}

function firstNodeOutput(layer: tf.layers.Layer): SymTensor {
  return layer.getOutputAt(0) as SymTensor;
}

/**
 * Layer names at which `model` can be cut so that the named layer's output is the only tensor
 * crossing from head to tail (single-input, single-output models).
 */
export function validSplitPoints(model: tf.LayersModel): string[] {
  const out: string[] = [];
  const outputLayer = model.outputs[0].sourceLayer;
  for (const layer of model.layers) {
    if (layer.getClassName() === 'InputLayer' || layer === outputLayer) continue;
    if (crossingOk(model, layer)) out.push(layer.name);
  }
  return out;
}

function crossingOk(model: tf.LayersModel, layer: tf.layers.Layer): boolean {
  const head = ancestors(layer);
  for (const l of model.layers) {
    if (head.has(l)) continue;
    for (const t of firstNodeInputs(l)) {
      if (head.has(t.sourceLayer) && t.sourceLayer !== layer) return false;
    }
  }
  return true;
}

/**
 * Splits a zoo model (or a bare LayersModel) at a named layer into head and tail models that
 * share the original weights. Unknown names are a UserError naming the model and the valid names.
 */
export function splitModel(source: ZooModel | tf.LayersModel, splitPointName: string): SplitModel {
  const zoo = source instanceof tf.LayersModel ? undefined : source;
  const model = zoo ? zoo.model : (source as tf.LayersModel);
  const where = zoo ? `${zoo.dir}` : `model '${model.name}'`;
  const valid = zoo ? zoo.meta.splitPoints : validSplitPoints(model);
  if (!valid.includes(splitPointName)) {
    throw new UserError(`${where}: unknown split point '${splitPointName}'; valid split points: ${valid.join(', ')}`);
  }
  const layer = model.getLayer(splitPointName);
  if (!crossingOk(model, layer)) {
    throw new UserError(`${where}: split point '${splitPointName}' is not the only tensor crossing to the tail`);
  }
  const head = tf.model({ inputs: model.inputs, outputs: firstNodeOutput(layer), name: `${model.name}_head_${splitPointName}` });

  const headLayers = ancestors(layer);
  const tailInput = tf.input({ shape: (layer.outputShape as number[]).slice(1), name: `${splitPointName}_in` });
  const mapped = new Map<SymTensor, SymTensor>([[firstNodeOutput(layer), tailInput]]);
  // model.layers is in topological order, so every input of a tail layer is mapped before use.
  for (const l of model.layers) {
    if (headLayers.has(l)) continue;
    const ins = firstNodeInputs(l).map((t) => {
      const m = mapped.get(t);
      if (!m) throw new Error(`split ${splitPointName}: input of layer ${l.name} not available in the tail`);
      return m;
    });
    const out = l.apply(ins.length === 1 ? ins[0] : ins) as SymTensor;
    mapped.set(firstNodeOutput(l), out);
  }
  const finalOut = mapped.get(model.outputs[0]);
  if (!finalOut) throw new Error(`split ${splitPointName}: the model output was not reached from the split point`);
  const tail = tf.model({ inputs: tailInput, outputs: finalOut, name: `${model.name}_tail_${splitPointName}` });
  return { head, tail, splitPoint: splitPointName };
}
