/**
 * What the live commands take from a scenario: the measured pipelines they can run (names
 * as `simulate` prints them) and the edge policy, with command-line overrides checked the
 * way the scenario schema checks the fields.
 */
import type { LoadedScenario } from '../config/scenario';
import { expandPipelines, Problems } from '../pipelines/expand';
import { DEVICE_ONLY, pipelineName, type PipelineRef } from '../pipelines/ref';
import { forcedRuntime, parseRuntime, type RuntimeName } from '../model/runtime';
import { UserError } from '../util/errors';

/**
 * The scenario's measured pipelines that `only` names (all but device-only when `only` is
 * empty), in the scenario's order; unknown names are a UserError listing the valid ones.
 */
export function scenarioPipelines(loaded: LoadedScenario, only: string[] | undefined, zooDir?: string): PipelineRef[] {
  const P = new Problems(loaded.file);
  const ex = expandPipelines(loaded.scenario, loaded.file, { zooDir, problems: P });
  P.throwIfAny();
  const names = ex.measured.map(pipelineName);
  if (!only || only.length === 0) {
    const refs = namedPipelines(loaded, zooDir).filter((r) => r.split !== DEVICE_ONLY);
    if (refs.length === 0) throw new UserError(`${loaded.file}: no measured pipeline offloads anything; nothing to run live`);
    return refs;
  }
  // Short names (omitted parameters take their defaults) mean their canonical name.
  const canonical = (n: string): string => {
    if (names.includes(n)) return n;
    const Q = new Problems(loaded.file);
    const one = expandPipelines({ ...loaded.scenario, pipelines: [n] }, loaded.file, { zooDir, problems: Q });
    return Q.lines.length === 0 && one.measured.length > 0 ? pipelineName(one.measured[0]) : n;
  };
  only = only.map(canonical);
  const bad = only.filter((n) => !names.includes(n));
  if (bad.length > 0) throw new UserError(`--pipeline: ${bad.map((n) => `'${n}'`).join(', ')} ${bad.length > 1 ? 'are' : 'is'} not a pipeline of ${loaded.file} (it has: ${names.join(', ')})`);
  return ex.measured.filter((r) => only!.includes(pipelineName(r)));
}

/**
 * The measured pipelines the scenario's entries name, without the extremes expansion adds
 * (the unsplit model on the device, every input codec at its default): each entry is
 * expanded alone, and what expansion appends after the named ones (from the device-only
 * reference on) is left out.
 */
function namedPipelines(loaded: LoadedScenario, zooDir?: string): PipelineRef[] {
  const s = loaded.scenario;
  if (s.pipelines === 'all') return expandPipelines(s, loaded.file, { zooDir }).measured;
  const out = new Map<string, PipelineRef>();
  for (const entry of s.pipelines) {
    const m = expandPipelines({ ...s, pipelines: [entry] }, loaded.file, { zooDir }).measured;
    const k = m.findIndex((r) => r.split === DEVICE_ONLY);
    for (const r of k > 0 ? m.slice(0, k) : k === 0 ? m.slice(0, 1) : m) out.set(pipelineName(r), r);
  }
  return [...out.values()];
}

/**
 * The model runtime of the live commands: --runtime, else SPLITSIM_RUNTIME, else tfjs (the
 * runtime profiles/host.yaml, the prediction's default profile, was calibrated on). The
 * prediction's measurement runs on the same one, so devices send the measured bits.
 */
export function liveRuntime(flag?: string): RuntimeName {
  const r = flag !== undefined ? parseRuntime(flag, '--runtime', false) : forcedRuntime();
  return r === 'auto' ? 'tfjs' : r;
}

/** Checks a share-of-a-core flag (0 < s <= 1); undefined passes. */
export function checkShare(v: number | undefined, flag: string): void {
  if (v !== undefined && !(Number.isFinite(v) && v > 0 && v <= 1)) throw new UserError(`${flag}: expected a number above 0 and at most 1, got ${v}`);
}

/** Checks an integer flag; undefined passes. */
export function checkInt(v: number | undefined, flag: string, lo: number, hi: number): void {
  if (v !== undefined && !(Number.isInteger(v) && v >= lo && v <= hi)) throw new UserError(`${flag}: expected an integer from ${lo} to ${hi}, got ${v}`);
}

/** Checks a non-negative finite number flag; undefined passes. */
export function checkMs(v: number | undefined, flag: string): void {
  if (v !== undefined && !(Number.isFinite(v) && v >= 0)) throw new UserError(`${flag}: expected a non-negative number of ms, got ${v}`);
}

/** Host and port of an http:// URL, or a UserError naming the flag. */
export function parseTarget(url: string, flag: string): { host: string; port: number } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UserError(`${flag}: expected a URL like http://127.0.0.1:8080, got '${url}'`);
  }
  if (u.protocol !== 'http:') throw new UserError(`${flag}: only http:// URLs are served, got '${url}'`);
  return { host: u.hostname.replace(/^\[|\]$/g, ''), port: u.port ? Number(u.port) : 80 };
}
