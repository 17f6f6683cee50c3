/**
 * Which runtime runs a model: tfjs (a LayersModel folder, model.json) or ONNX Runtime (a .onnx
 * file, through onnxruntime-node's CPU execution provider). A model that has an ONNX file runs
 * on ONNX Runtime when onnxruntime-node loads here; where it cannot load, a model that also
 * has model.json runs on tfjs and one line on stderr says so. SPLITSIM_RUNTIME=tfjs|onnxruntime
 * forces one. The runtime is part of every result's `backend` ('onnxruntime', or the tfjs
 * backend: 'wasm', 'cpu', 'tensorflow').
 */
import { UserError } from '../util/errors';

/** The two model runtimes. */
export type RuntimeName = 'tfjs' | 'onnxruntime';

/** What results record as the backend of models run on ONNX Runtime. */
export const ORT_BACKEND = 'onnxruntime';

/** ONNX opsets (domain ai.onnx) onnxruntime-node 1.30 officially supports. */
export const ORT_OPSETS = { min: 7, max: 26 } as const;

type Ort = typeof import('onnxruntime-node');

let ort: { mod?: Ort; error?: string } | undefined;

/**
 * onnxruntime-node, loaded once; undefined (with the reason, see ortError) where its native
 * binding cannot load. SPLITSIM_ONNXRUNTIME_MODULE names another module to load instead (a
 * missing one stands for a machine without it).
 */
export function loadOrt(): Ort | undefined {
  if (!ort) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const mod = require(process.env.SPLITSIM_ONNXRUNTIME_MODULE || 'onnxruntime-node') as Ort;
      if (typeof mod?.InferenceSession?.create !== 'function') throw new Error('it has no InferenceSession');
      mod.env.logLevel = 'error';
      ort = { mod };
    } catch (e) {
      ort = { error: (e as Error).message.split('\n')[0] };
    }
  }
  return ort.mod;
}

/** Why onnxruntime-node could not be loaded (undefined when it loaded). */
export function ortError(): string | undefined {
  loadOrt();
  return ort?.error;
}

/** onnxruntime-node's version (undefined when it cannot load). */
export function ortVersion(): string | undefined {
  return loadOrt()?.env.versions.node;
}

/** onnxruntime-node, or a UserError saying why a model that needs it cannot run. */
export function requireOrt(file: string): Ort {
  const mod = loadOrt();
  if (!mod) throw new UserError(`${file}: an ONNX model needs onnxruntime-node, which cannot be loaded here (${ortError()}); run 'npm ci' (see README: ONNX models)`);
  return mod;
}

/**
 * A runtime as a user names it (tfjs; onnxruntime, onnx or ort; with `allowAuto`, auto or
 * nothing), or a UserError naming `where`.
 */
export function parseRuntime(value: string | undefined, where: string, allowAuto = true): RuntimeName | 'auto' {
  const v = (value ?? '').trim().toLowerCase();
  if (allowAuto && (v === '' || v === 'auto')) return 'auto';
  if (v === 'tfjs') return 'tfjs';
  if (v === 'onnxruntime' || v === 'onnx' || v === 'ort') return 'onnxruntime';
  throw new UserError(`${where}: expected ${allowAuto ? 'tfjs, onnxruntime or auto' : 'tfjs or onnxruntime'}, got '${value}'`);
}

/** The runtime SPLITSIM_RUNTIME asks for ('auto' when unset). */
export function forcedRuntime(): RuntimeName | 'auto' {
  return parseRuntime(process.env.SPLITSIM_RUNTIME, 'SPLITSIM_RUNTIME');
}

let fallbackSaid = false;

/** What a model offers: a model.json (tfjs) and/or an ONNX file. */
export interface RuntimeChoice {
  /** The model's folder or file, for messages. */
  where: string;
  tfjs: boolean;
  onnx?: string;
}

/**
 * The runtime that runs a model (see the module comment). A model only one runtime can run
 * that is forced onto the other, or an ONNX-only model where onnxruntime-node cannot load,
 * is a UserError naming it.
 */
export function chooseRuntime(m: RuntimeChoice, forced: RuntimeName | 'auto' = forcedRuntime(), via = 'SPLITSIM_RUNTIME'): RuntimeName {
  if (forced === 'auto') forced = forcedRuntime();
  if (forced === 'tfjs') {
    if (!m.tfjs) throw new UserError(`${m.where}: ${via === 'SPLITSIM_RUNTIME' ? 'SPLITSIM_RUNTIME=tfjs' : `${via} tfjs`}, but this model is ONNX only (no model.json)`);
    return 'tfjs';
  }
  if (forced === 'onnxruntime') {
    if (!m.onnx) throw new UserError(`${m.where}: ${via === 'SPLITSIM_RUNTIME' ? 'SPLITSIM_RUNTIME=onnxruntime' : `${via} onnxruntime`}, but this model has no ONNX file (model.onnx)`);
    requireOrt(m.onnx);
    return 'onnxruntime';
  }
  if (!m.onnx) return 'tfjs';
  if (loadOrt()) return 'onnxruntime';
  if (!m.tfjs) requireOrt(m.onnx);
  if (!fallbackSaid) {
    fallbackSaid = true;
    process.stderr.write(`splitsim: onnxruntime-node cannot be loaded (${ortError()}); running models on tfjs\n`);
  }
  return 'tfjs';
}

/** A result's backend in words: 'tfjs wasm', 'ONNX Runtime (onnxruntime-node 1.30.0, CPU)', or both. */
export function describeBackend(backend: string): string {
  return backend.split('+').map((b) => (b === ORT_BACKEND ? `ONNX Runtime (onnxruntime-node ${ortVersion() ?? '?'}, CPU)` : `tfjs backend ${b}`)).join(' and ');
}
