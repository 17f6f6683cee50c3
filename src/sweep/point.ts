/**
 * One sweep point: a scenario whose pipelines are already resolved, simulated and summarised
 * (unranked rows; the decision is made by the caller, per objective). The same function runs
 * in the parent and in every worker process, so a point's rows do not depend on where it ran.
 */
import type { Scenario } from '../config/scenario';
import type { ResolvedScenario, ResolveOptions } from '../pipelines/resolve';
import { resolveScenario } from '../pipelines/resolve';
import { summarizeRun, type SummaryRow } from '../report/summary';
import { offeredLoad, overloadWarnings } from '../sim/capacity';
import { simulateScenario } from '../sim/system';

/** What a point's simulation gives back. */
export interface PointResult {
  rows: SummaryRow[];
  /** Overloaded (pipeline, resource) pairs at this point. */
  overloaded: number;
}

/**
 * Simulates every resolved pipeline on `scenario` and summarises each run; `deadlineMs`
 * replaces every pipeline's deadline (simulate's --deadline-ms).
 */
export function simulatePoint(scenario: Scenario, resolved: ResolvedScenario, deadlineMs?: number): PointResult {
  const records = deadlineMs === undefined ? resolved.records : resolved.records.map((r) => ({ ...r, deadlineMs }));
  const loads = records.map((r) => offeredLoad(scenario, r));
  const overloaded = overloadWarnings(scenario, records, loads).length;
  const runs = simulateScenario(scenario, records, { power: resolved.power, radio: resolved.radio });
  const ref = records.find((r) => r.name === resolved.reference);
  const reference = ref?.samples ? { name: ref.name, correct: ref.samples.correct } : undefined;
  const rows = runs.map((run, i) => summarizeRun(run, { reference, load: loads[i], deviceProfile: resolved.deviceProfile, edgeProfile: resolved.edgeProfile, radio: resolved.radio?.name }));
  return { rows, overloaded };
}

/**
 * The part of a scenario its pipeline records depend on: everything but the network, the
 * traffic, the edge's worker count and wait, the run length, the seed and the decision.
 * Points with equal keys share one resolution.
 */
export function recordKey(s: Scenario): string {
  const { uplink: _u, downlink: _d, seed: _s, duration: _du, warmup: _w, drain: _dr, decision: _de, description: _ds, name: _n, devices, edge, ...rest } = s;
  const { count: _c, arrival: _a, ...dev } = devices;
  const { workers: _k, maxWaitMs: _mw, ...ed } = edge;
  return JSON.stringify({ ...rest, devices: dev, edge: ed });
}

/** Resolves scenarios (from the measurement cache), once per record key. */
export class Resolutions {
  private readonly done = new Map<string, Promise<ResolvedScenario>>();
  constructor(private readonly file: string, private readonly opts: ResolveOptions) {}

  get(scenario: Scenario): Promise<ResolvedScenario> {
    const key = recordKey(scenario);
    let r = this.done.get(key);
    if (!r) {
      r = resolveScenario({ scenario, file: this.file }, this.opts);
      this.done.set(key, r);
    }
    return r;
  }
}
