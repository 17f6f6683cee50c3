import * as path from 'path';
import { Rng } from '../engine/rng';
import { writeFileAtomic } from '../util/atomic';
import { PACKAGE_ROOT } from '../util/version';
import { markovStationary, type RateState } from './server';

/** How one synthetic mahimahi trace is made. */
export interface SyntheticTraceSpec {
  /** File name under traces/. */
  file: string;
  seed: number;
  durationMs: number;
  states: RateState[];
  transitions?: number[][];
  opportunityBytes?: number;
}

/**
 * Writes a mahimahi trace from a Markov-modulated rate: the chain's state sets the rate, each
 * millisecond adds rate·1 ms of bytes, and an opportunity is listed at every millisecond in
 * which the running total passes another `opportunityBytes`. The last line is the duration,
 * so the trace loops with exactly that period.
 */
export function synthesizeTrace(spec: SyntheticTraceSpec): string {
  const B = spec.opportunityBytes ?? 1500;
  const rng = new Rng(spec.seed, `synthetic-trace:${spec.file}`);
  const n = spec.states.length;
  const pi = markovStationary(spec.states, spec.transitions);
  let u = rng.uniform();
  let state = n - 1;
  for (let i = 0; i < n; i++) { if (u < pi[i]) { state = i; break; } u -= pi[i]; }
  let endMs = rng.exponential(spec.states[state].meanSojournMs);
  const lines: number[] = [];
  let credit = 0;
  for (let ms = 1; ms <= spec.durationMs; ms++) {
    // Bytes of the millisecond (ms−1, ms], split where the state changes.
    let t = ms - 1;
    while (endMs < ms) {
      credit += (spec.states[state].rateBps / 8 / 1000) * (endMs - t);
      t = endMs;
      if (spec.transitions) {
        const row = spec.transitions[state];
        let v = rng.uniform();
        let next = n - 1;
        for (let j = 0; j < n; j++) { if (v < row[j]) { next = j; break; } v -= row[j]; }
        state = next;
      } else {
        const k = rng.int(n - 1);
        state = k >= state ? k + 1 : k;
      }
      endMs += rng.exponential(spec.states[state].meanSojournMs);
    }
    credit += (spec.states[state].rateBps / 8 / 1000) * (ms - t);
    while (credit >= B) { lines.push(ms); credit -= B; }
  }
  if (lines.length === 0 || lines[lines.length - 1] !== spec.durationMs) lines.push(spec.durationMs);
  return lines.join('\n') + '\n';
}

/**
 * The synthetic traces shipped in traces/ (the real ones cannot be redistributed with the
 * project). Each is calibrated so that `splitsim link --trace` gives statistics close to the
 * recorded trace it stands in for; test/network/synth.test.ts checks the files match.
 */
export const SHIPPED_TRACES: SyntheticTraceSpec[] = [
  {
    // Stands in for mahimahi's TMobile-UMTS-driving.up (mean 0.94 Mbps, 1-s p10/p50/p90
    // 0.30/1.08/1.42 Mbps, 9 % empty 100-ms windows): good, fair and poor coverage plus
    // short outages while driving.
    file: 'umts-driving-synthetic.up',
    seed: 2013,
    durationMs: 120000,
    states: [
      { rateBps: 1.4e6, meanSojournMs: 3000 },
      { rateBps: 0.85e6, meanSojournMs: 2000 },
      { rateBps: 0.3e6, meanSojournMs: 1000 },
      { rateBps: 0, meanSojournMs: 600 },
    ],
  },
];

/** Regenerates every shipped synthetic trace under `dir` (default: the package's traces/). */
export function writeShippedTraces(dir = path.join(PACKAGE_ROOT, 'traces')): string[] {
  return SHIPPED_TRACES.map((s) => {
    const file = path.join(dir, s.file);
    writeFileAtomic(file, synthesizeTrace(s));
    return file;
  });
}
