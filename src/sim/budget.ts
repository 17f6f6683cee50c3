/**
 * Budgets before work: from a validated scenario and its pipelines, how many requests will
 * arrive and how many events the run will take, so that a run that cannot finish in
 * reasonable time or fit in memory is refused at once (naming the fields that make it big
 * and the limit to raise) instead of hanging. During the run, the simulator's tick enforces
 * the same event budget, which catches what no estimate foresees (e.g. timers re-armed
 * without end on a link far too slow for its load).
 */
import type { Scenario } from '../config/scenario';
import { distributionMean } from '../engine/distributions';
import { defaultHeaderBytes, type LinkSpec } from '../network/link';
import type { PipelineRecord } from '../pipelines/record';
import { UserError } from '../util/errors';
import { deviceRatePerS } from './capacity';

/** Limits a run must stay within (raised with simulate's flags). */
export interface Budget {
  /** Requests arriving in one pipeline's run (each keeps 32 B of statistics: ~1 GB at 3e7). */
  maxRequests: number;
  /** Events of one pipeline's run (about 10 million per second here). */
  maxEvents: number;
}

/** Defaults: a run of at most about a gigabyte and a couple of minutes per pipeline. */
export const DEFAULT_BUDGET: Budget = { maxRequests: 3e7, maxEvents: 2e9 };

/** Requests the scenario's arrivals will bring (an upper bound for closed loops). */
export function estimateRequests(s: Scenario): number {
  if (s.duration.requests !== undefined) return s.duration.requests;
  const secs = s.duration.seconds!;
  const a = s.devices.arrival;
  // A closed loop sends at most one request per think time (floored at 1 ms).
  const perS = a.type === 'closed' ? 1000 / Math.max(1, distributionMean(a.thinkMs)) : deviceRatePerS(s);
  return Math.ceil(secs * perS * s.devices.count) + s.devices.count;
}

function packets(spec: LinkSpec, bytes: number): number {
  const per = spec.mtuBytes - (spec.headerBytes ?? defaultHeaderBytes(spec.delivery));
  return Math.max(1, Math.ceil(bytes / per));
}

/** Events one request of a pipeline costs, roughly: its stages plus a few per packet. */
export function eventsPerRequest(s: Scenario, p: PipelineRecord): number {
  if (p.local) return 3;
  const tcp = (l: LinkSpec) => (l.delivery.mode === 'tcp' ? 3 : 1);
  return 6 + 3 * tcp(s.uplink) * packets(s.uplink, p.means.payloadBytes) + 3 * tcp(s.downlink) * packets(s.downlink, p.means.resultBytes);
}

/**
 * Refuses (UserError naming the fields and the limit) a scenario whose runs exceed the
 * budget; returns each pipeline's event estimate (the run-time guard's reference).
 */
export function checkBudget(s: Scenario, records: PipelineRecord[], b: Budget, file: string): number[] {
  const R = estimateRequests(s);
  if (R > b.maxRequests) {
    const where = s.duration.requests !== undefined ? "field 'duration.requests'" : "fields 'duration.seconds', 'devices.count' and the arrival rate";
    throw new UserError(`${file}: ${where}: about ${R.toExponential(2)} requests per pipeline, more than the ${b.maxRequests.toExponential(1)} a run may hold (--max-requests raises it; each request keeps about 32 B of statistics)`);
  }
  return records.map((p) => {
    const per = eventsPerRequest(s, p);
    const ev = R * per;
    if (ev > b.maxEvents) {
      throw new UserError(
        `${file}: pipeline '${p.name}': about ${ev.toExponential(2)} events (${R.toExponential(2)} requests x ${per} events: ` +
          `${packets(s.uplink, p.means.payloadBytes)} uplink packets per request from its payload and the uplink's mtuBytes/headerBytes), ` +
          `more than the ${b.maxEvents.toExponential(1)} budget (--max-events raises it)`,
      );
    }
    return ev;
  });
}

/** The run-time guard: a tick that aborts a run far past its estimate and past the budget. */
export function eventGuard(name: string, estimate: number, b: Budget, events: () => number, nowMs: () => number): () => void {
  const limit = Math.min(b.maxEvents, Math.max(1e7, 20 * estimate));
  return () => {
    if (events() > limit) {
      throw new UserError(
        `pipeline '${name}': the run passed ${events().toExponential(2)} events (estimated ${estimate.toExponential(2)}) at simulated time ${(nowMs() / 1000).toExponential(3)} s ` +
          `and is not converging: a link or resource is far too slow for its load (see the warnings and the *_load columns); --max-events raises the limit`,
      );
    }
  };
}
