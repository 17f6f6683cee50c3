/**
 * ONNX model files: reading and checking one (a ModelProto with a single float image input and
 * a single output, an opset ONNX Runtime supports), its content hash, ONNX Runtime sessions,
 * and the shapes of its tensors, read by running it once on a zero image (exact for any
 * operator, where static shape inference would need every operator's rules).
 *
 * Layout: a PyTorch export takes [batch, channels, height, width] (NCHW); a TensorFlow
 * conversion [batch, height, width, channels]. Whatever the model's layout, the tensors
 * splitsim codes and sends are channel-last, as tfjs gives them (so the same network on
 * either runtime codes the same bytes): an NCHW model's split tensors are transposed on the way
 * out of the head and back on the way into the tail.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import type * as OrtTypes from 'onnxruntime-node';
import { checkRegularFile } from '../config/load';
import { UserError } from '../util/errors';
import { cutTensors, indexGraph, type GraphIndex } from './onnx-graph';
import { decodeModel, encodeModel, int, ONNX_FLOAT, valueDims, type OnnxModel } from './onnx-proto';
import { ORT_OPSETS, requireOrt } from './runtime';

/** Largest .onnx file read (protobuf's 2 GB limit). */
const MAX_ONNX_BYTES = 2 * 1024 * 1024 * 1024 - 1;

/** A checked ONNX model file. */
export interface OnnxFile {
  file: string;
  bytes: Uint8Array;
  model: OnnxModel;
  index: GraphIndex;
  /** ai.onnx opset the model imports. */
  opset: number;
  layout: 'nchw' | 'nhwc';
  /** The image the input takes: [height, width, channels]. */
  imageShape: [number, number, number];
  /** A fixed batch size the model was exported with, or null when the batch is symbolic. */
  batch: number | null;
}

/**
 * Reads and checks a .onnx file: a UserError naming the file and what was expected when it
 * is not a ModelProto (corrupt, truncated, another format), imports an unsupported opset,
 * keeps weights in external files, or does not have one float32 image input
 * ([batch, C, H, W] or [batch, H, W, C], fixed sizes) and one output.
 */
export function readOnnxFile(file: string): OnnxFile {
  checkRegularFile(file, 'ONNX model', MAX_ONNX_BYTES);
  const bytes = new Uint8Array(fs.readFileSync(file));
  let model: OnnxModel;
  try {
    model = decodeModel(bytes);
  } catch (e) {
    throw new UserError(`${file}: not an ONNX model (${(e as Error).message}); expected a ModelProto as torch.onnx.export writes it`);
  }
  const graph = model.graph;
  if (!graph || graph.node.length === 0) throw new UserError(`${file}: not an ONNX model (no graph with nodes); expected a ModelProto as torch.onnx.export writes it`);
  const ai = model.opsetImport.filter((o) => !o.domain || o.domain === 'ai.onnx');
  if (ai.length === 0) throw new UserError(`${file}: the model imports no ai.onnx opset; expected opset ${ORT_OPSETS.min} to ${ORT_OPSETS.max}`);
  const opset = int(ai[0].version);
  if (opset < ORT_OPSETS.min || opset > ORT_OPSETS.max) {
    throw new UserError(`${file}: opset ${opset} (domain ai.onnx) is not supported: expected opset ${ORT_OPSETS.min} to ${ORT_OPSETS.max}, what onnxruntime-node runs (re-export with torch.onnx.export(..., opset_version=17))`);
  }
  const external = graph.initializer.find((t) => t.dataLocation === 1 || t.externalData.length > 0);
  if (external) throw new UserError(`${file}: initializer '${external.name}' is stored in an external data file; save the model as one file (onnx.save(model, f, save_as_external_data=False))`);
  const index = indexGraph(graph, file);
  const input = graph.input.find((v) => v.name === index.input)!;
  const elem = input.type?.tensorType?.elemType;
  if (elem !== ONNX_FLOAT) throw new UserError(`${file}: input '${input.name}' is ${elem === undefined ? 'not a tensor' : `of ONNX element type ${elem}`}; expected a float32 image tensor`);
  const dims = valueDims(input) ?? [];
  const shown = `[${(input.type?.tensorType?.shape?.dim ?? []).map((d) => d.dimParam || (d.dimValue !== undefined ? int(d.dimValue) : '?')).join(', ')}]`;
  if (dims.length !== 4 || dims.slice(1).some((d) => d === null)) {
    throw new UserError(`${file}: input '${input.name}' has shape ${shown}; expected a fixed [batch, channels, height, width] (or [batch, height, width, channels]) image (export the model with a fixed input size)`);
  }
  const [, a, b, c] = dims as number[];
  // Channels are few (1 gray, 3 colour, 4 with alpha); an image is larger than that.
  const nhwc = c <= 4 && a > 4;
  const layout = nhwc ? 'nhwc' : 'nchw';
  const imageShape: [number, number, number] = nhwc ? [a, b, c] : [b, c, a];
  return { file, bytes, model, index, opset, layout, imageShape, batch: dims[0] };
}

/**
 * The content hash of an ONNX model: SHA-256 over the .onnx file and, for a zoo folder's
 * model.onnx, its meta.json (its entropy tables and quantisers change coded bytes), each
 * length-prefixed as in hashModelFiles.
 */
export function hashOnnxModel(file: string, metaFile?: string): string {
  const h = createHash('sha256');
  const add = (name: string, bytes: Buffer) => {
    h.update(`${name}:${bytes.length}:`);
    h.update(bytes);
  };
  add(path.basename(file), fs.readFileSync(file));
  if (metaFile && fs.existsSync(metaFile)) add('meta.json', fs.readFileSync(metaFile));
  return h.digest('hex');
}

/** Session options of every model: one thread (measurement runs one process per core), all graph optimisations. */
const SESSION_OPTIONS: OrtTypes.InferenceSession.SessionOptions = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
  logSeverityLevel: 3,
};

/** An ONNX Runtime session of a model (its bytes); failures are UserErrors naming `where`. */
export async function createSession(bytes: Uint8Array, where: string): Promise<OrtTypes.InferenceSession> {
  const ort = requireOrt(where);
  try {
    return await ort.InferenceSession.create(bytes, SESSION_OPTIONS);
  } catch (e) {
    throw new UserError(`${where}: ONNX Runtime cannot load the model (${(e as Error).message.split('\n')[0].replace(/^.*\.(?:cc|h):\d+ /, '')})`);
  }
}

/** The model input of a zero image batch (what probing runs). */
function zeroInput(f: OnnxFile, n: number): OrtTypes.Tensor {
  const ort = requireOrt(f.file);
  const [h, w, c] = f.imageShape;
  return new ort.Tensor('float32', new Float32Array(n * h * w * c), f.layout === 'nchw' ? [n, c, h, w] : [n, h, w, c]);
}

/** Shape and element type of a tensor as run. */
export interface TensorInfo {
  /** Per-sample dimensions as the model has them (batch removed). */
  dims: number[];
  type: string;
}

const probed = new WeakMap<OnnxFile, Promise<Map<string, TensorInfo>>>();

/**
 * Shapes and types of every tensor that depends on the input (and of the output), from one
 * run of the model on a zero image with them all made outputs.
 */
export function probeTensors(f: OnnxFile): Promise<Map<string, TensorInfo>> {
  let p = probed.get(f);
  if (!p) {
    p = (async () => {
      const live = f.index.nodes.flatMap((n, i) => (f.index.live[i] ? n.output.filter((o) => o) : []));
      const names = [...new Set([...live, f.index.output])];
      const graph = f.model.graph!;
      const have = new Set(graph.output.map((o) => o.name));
      const probe: OnnxModel = { ...f.model, graph: { ...graph, output: [...graph.output, ...names.filter((n) => !have.has(n)).map((name) => ({ name }))] } };
      const session = await createSession(encodeModel(probe), f.file);
      const batch = f.batch ?? 1;
      let out: OrtTypes.InferenceSession.ReturnType;
      try {
        out = await session.run({ [f.index.input]: zeroInput(f, batch) });
      } catch (e) {
        throw new UserError(`${f.file}: ONNX Runtime cannot run the model on a ${f.imageShape.join('x')} image (${(e as Error).message.split('\n')[0]})`);
      } finally {
        await session.release();
      }
      const info = new Map<string, TensorInfo>();
      for (const n of names) {
        const t = out[n];
        if (t) info.set(n, { dims: t.dims.slice(1).map(Number), type: t.type });
      }
      return info;
    })();
    probed.set(f, p);
  }
  return p;
}

/** Per-sample dimensions as splitsim codes them: channel-last (an NCHW model's axis 1 moved last). */
export function channelLast(dims: number[], layout: OnnxFile['layout']): number[] {
  return layout === 'nchw' && dims.length >= 2 ? [...dims.slice(1), dims[0]] : [...dims];
}

/** The float tensors at which the model can be cut (graph cuts with a float32 value). */
export async function floatCuts(f: OnnxFile): Promise<string[]> {
  const info = await probeTensors(f);
  return cutTensors(f.index).filter((t) => info.get(t)?.type === 'float32');
}

/** Size of the output (its classes), from a run. */
export async function outputClasses(f: OnnxFile): Promise<number> {
  const d = (await probeTensors(f)).get(f.index.output);
  if (!d) throw new UserError(`${f.file}: the model output '${f.index.output}' was not produced`);
  return d.dims.reduce((a, b) => a * b, 1);
}
