/**
 * ONNX graphs as splitsim needs them: the order of the nodes, which tensors separate the graph
 * (every path from the input to the output crosses them: candidate split points, as the layers
 * of a LayersModel whose output is the only tensor crossing), and graph surgery on the
 * ModelProto that extracts the head (input → split tensors) and the tail (split tensor →
 * output) as two models of their own. No runtime is needed here.
 */
import { UserError } from '../util/errors';
import { floatValueInfo, type OnnxGraph, type OnnxModel, type OnnxNode, type OnnxValueInfo } from './onnx-proto';

/** Names a node reads: its inputs and the outer-scope tensors its subgraphs (Loop, If, Scan bodies) use. */
export function nodeInputs(node: OnnxNode): string[] {
  const out = node.input.filter((n) => n !== '');
  for (const a of node.attribute) {
    for (const g of [a.g, ...((a.graphs as OnnxGraph[] | undefined) ?? [])]) if (g) out.push(...outerNames(g));
  }
  return out;
}

/** Tensors a subgraph reads from its enclosing scope. */
function outerNames(g: OnnxGraph): string[] {
  const local = new Set<string>([...g.input.map((v) => v.name), ...g.initializer.map((t) => t.name ?? '')]);
  const out: string[] = [];
  for (const n of g.node) {
    for (const i of nodeInputs(n)) if (!local.has(i)) out.push(i);
    for (const o of n.output) local.add(o);
  }
  return out;
}

/** The parts of a graph the split logic works on. */
export interface GraphIndex {
  graph: OnnxGraph;
  /** The graph's one real input (not an initializer) and its one output. */
  input: string;
  output: string;
  /** Nodes in topological order. */
  nodes: OnnxNode[];
  /** Producing node (index into nodes) of each tensor. */
  producer: Map<string, number>;
  /** Initializer names (weights: available to head and tail alike). */
  initializers: Set<string>;
  /** Whether node i depends on the graph input (others are constant subgraphs). */
  live: boolean[];
}

/**
 * Indexes a graph: orders its nodes topologically and checks that every tensor a node reads
 * is the input, an initializer or produced by a node (a UserError naming `file` otherwise).
 */
export function indexGraph(graph: OnnxGraph, file: string): GraphIndex {
  const initializers = new Set(graph.initializer.map((t) => t.name ?? ''));
  const inputs = graph.input.map((v) => v.name).filter((n) => !initializers.has(n));
  if (inputs.length !== 1 || graph.output.length !== 1) {
    throw new UserError(`${file}: the graph has ${inputs.length} input(s) (${inputs.join(', ') || 'none'}) and ${graph.output.length} output(s) (${graph.output.map((o) => o.name).join(', ') || 'none'}); splitsim splits single-input, single-output image classifiers`);
  }
  const producerOf = new Map<string, number>();
  graph.node.forEach((n, i) => n.output.forEach((o) => { if (o) producerOf.set(o, i); }));
  // Kahn's algorithm, keeping the file's order among ready nodes (it is usually topological already).
  const deps = graph.node.map((n) => new Set(nodeInputs(n).map((t) => producerOf.get(t)).filter((p): p is number => p !== undefined)));
  const users = graph.node.map(() => [] as number[]);
  deps.forEach((ds, i) => ds.forEach((d) => users[d].push(i)));
  const pending = deps.map((d) => d.size);
  const ready = pending.map((p, i) => (p === 0 ? i : -1)).filter((i) => i >= 0);
  const order: number[] = [];
  while (ready.length > 0) {
    ready.sort((a, b) => a - b);
    const i = ready.shift()!;
    order.push(i);
    for (const u of users[i]) if (--pending[u] === 0) ready.push(u);
  }
  if (order.length !== graph.node.length) {
    const stuck = graph.node.find((_, i) => pending[i] > 0)!;
    throw new UserError(`${file}: the graph has a cycle through node '${stuck.name || stuck.opType}'`);
  }
  const nodes = order.map((i) => graph.node[i]);
  const producer = new Map<string, number>();
  const live: boolean[] = [];
  const liveTensors = new Set<string>([inputs[0]]);
  nodes.forEach((n, i) => {
    for (const t of nodeInputs(n)) {
      if (!producer.has(t) && !initializers.has(t) && t !== inputs[0]) {
        throw new UserError(`${file}: node '${n.name || n.opType}' (${n.opType}) reads tensor '${t}', which no node, input or initializer provides`);
      }
    }
    live.push(nodeInputs(n).some((t) => liveTensors.has(t)));
    for (const o of n.output) {
      if (!o) continue;
      producer.set(o, i);
      if (live[i]) liveTensors.add(o);
    }
  });
  const output = graph.output[0].name;
  if (!producer.has(output) && output !== inputs[0]) throw new UserError(`${file}: graph output '${output}' is produced by no node`);
  return { graph, input: inputs[0], output, nodes, producer, initializers, live };
}

/**
 * Every tensor at which the graph can be cut so that it is the only tensor crossing from head
 * to tail, in node order: the first output of a node that depends on the input, whose
 * ancestors (the head) hand nothing else to the rest, and that is not the graph output.
 */
export function cutTensors(ix: GraphIndex): string[] {
  const n = ix.nodes.length;
  const words = Math.ceil(n / 32) || 1;
  const anc: Uint32Array[] = [];
  const has = (set: Uint32Array, i: number) => (set[i >> 5] & (1 << (i & 31))) !== 0;
  // Ancestor sets over live nodes.
  ix.nodes.forEach((node, i) => {
    const set = new Uint32Array(words);
    if (ix.live[i]) {
      set[i >> 5] |= 1 << (i & 31);
      for (const t of nodeInputs(node)) {
        const p = ix.producer.get(t);
        if (p === undefined || !ix.live[p]) continue;
        for (let w = 0; w < words; w++) set[w] |= anc[p][w];
      }
    }
    anc.push(set);
  });
  // Edges between live nodes (and from the graph input, producer -1), with the tensor carried.
  const edges: Array<{ from: number; to: number; tensor: string }> = [];
  ix.nodes.forEach((node, i) => {
    if (!ix.live[i]) return;
    for (const t of nodeInputs(node)) {
      if (t === ix.input) edges.push({ from: -1, to: i, tensor: t });
      const p = ix.producer.get(t);
      if (p !== undefined && ix.live[p]) edges.push({ from: p, to: i, tensor: t });
    }
  });
  const outProducer = ix.producer.get(ix.output);
  const out: string[] = [];
  ix.nodes.forEach((node, k) => {
    const t = node.output[0];
    if (!ix.live[k] || !t || t === ix.output) return;
    const head = anc[k];
    if (outProducer !== undefined && has(head, outProducer)) return;
    for (const e of edges) {
      const fromHead = e.from === -1 || has(head, e.from);
      if (fromHead && !has(head, e.to) && e.tensor !== t) return;
    }
    out.push(t);
  });
  return out;
}

/** Value infos of a graph by tensor name (inputs, outputs and intermediate ones). */
function valueInfos(g: OnnxGraph): Map<string, OnnxValueInfo> {
  return new Map([...g.valueInfo, ...g.input, ...g.output].map((v) => [v.name, v]));
}

/**
 * A model computing `outputs` from `inputs` (tensors of `model`'s graph): the nodes and
 * initializers they need, the rest of the ModelProto (opsets, functions, metadata) as it is.
 * `dims` gives the per-sample dimensions of tensors that become inputs or outputs (the batch
 * dimension is added as 'batch', or `batch` when fixed). Throws when an output cannot be
 * computed from the inputs alone (not a cut).
 */
export function extractModel(model: OnnxModel, ix: GraphIndex, inputs: string[], outputs: string[], dims: Map<string, number[]>, batch: number | null, name: string): OnnxModel {
  const g = ix.graph;
  const inputSet = new Set(inputs);
  const need = new Set<number>();
  const stack = [...outputs];
  const seen = new Set<string>();
  while (stack.length > 0) {
    const t = stack.pop()!;
    if (seen.has(t) || inputSet.has(t) || ix.initializers.has(t)) continue;
    seen.add(t);
    const p = ix.producer.get(t);
    if (p === undefined) throw new Error(`${name}: tensor '${t}' is not computed from ${inputs.join(', ')}`);
    need.add(p);
    stack.push(...nodeInputs(ix.nodes[p]));
  }
  const nodes = ix.nodes.filter((_, i) => need.has(i));
  const used = new Set(nodes.flatMap(nodeInputs));
  const infos = valueInfos(g);
  const io = (t: string): OnnxValueInfo => {
    if (t === ix.input || t === ix.output) return infos.get(t)!;
    const d = dims.get(t);
    if (!d) throw new Error(`${name}: no shape known for tensor '${t}'`);
    return floatValueInfo(t, [batch, ...d]);
  };
  const produced = new Set(nodes.flatMap((n) => n.output));
  const graph: OnnxGraph = {
    ...g,
    name,
    node: nodes,
    initializer: g.initializer.filter((t) => used.has(t.name ?? '')),
    sparseInitializer: [],
    input: inputs.map(io),
    output: outputs.map(io),
    valueInfo: g.valueInfo.filter((v) => produced.has(v.name) && !outputs.includes(v.name)),
  };
  return { ...model, graph };
}
