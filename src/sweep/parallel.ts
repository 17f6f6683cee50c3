/**
 * Runs a sweep's points over worker processes. Each worker (a child process running the
 * compiled worker.js) resolves the scenario's pipelines from the measurement cache once per
 * record key and then takes points one at a time as it frees up; the parent puts the rows
 * back in point order. Every point is simulated by the same function from the same data
 * (seeded streams, no clock), so the rows do not depend on the number of workers or on which
 * worker ran a point.
 */
import { fork, type ChildProcess } from 'child_process';
import * as path from 'path';
import type { Scenario } from '../config/scenario';
import type { ResolveOptions } from '../pipelines/resolve';
import { Resolutions, simulatePoint, type PointResult } from './point';

/** What a worker needs once: the scenario file and how to resolve its pipelines. */
export interface SweepInit {
  file: string;
  resolve: Pick<ResolveOptions, 'samples' | 'only' | 'zooDir'>;
  /** A deadline for every pipeline (simulate's --deadline-ms), declared ones included. */
  deadlineMs?: number;
}

/** Messages between the parent and a sweep worker. */
export type ToWorker = { type: 'init'; init: SweepInit } | { type: 'point'; id: number; scenario: Scenario };
export type FromWorker = { type: 'point'; id: number; result: PointResult } | { type: 'error'; message: string };

/** Whether worker processes can run (they need the compiled JavaScript of the worker). */
export function canForkSweep(): boolean {
  return path.extname(__filename) === '.js';
}

/** Simulates the points in this process. */
async function runHere(init: SweepInit, scenarios: Scenario[], onPoint: (done: number) => void): Promise<PointResult[]> {
  const res = new Resolutions(init.file, init.resolve);
  const out: PointResult[] = [];
  for (const s of scenarios) {
    out.push(simulatePoint(s, await res.get(s), init.deadlineMs));
    onPoint(out.length);
  }
  return out;
}

/**
 * Simulates every point with `workers` processes (in this process when 1 or when there is
 * no compiled worker) and returns the results in point order.
 */
export async function runPoints(init: SweepInit, scenarios: Scenario[], workers: number, onPoint: (done: number) => void = () => undefined): Promise<PointResult[]> {
  const W = Math.max(1, Math.min(workers, scenarios.length));
  if (W === 1 || !canForkSweep()) return runHere(init, scenarios, onPoint);
  const results = new Array<PointResult | undefined>(scenarios.length);
  let next = 0;
  let done = 0;
  const children: ChildProcess[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      let failed = false;
      const fail = (e: Error) => {
        if (failed) return;
        failed = true;
        reject(e);
      };
      const retired = new Set<ChildProcess>();
      const give = (child: ChildProcess) => {
        if (next >= scenarios.length) {
          retired.add(child);
          child.disconnect();
          return;
        }
        const id = next++;
        child.send({ type: 'point', id, scenario: scenarios[id] } satisfies ToWorker);
      };
      for (let w = 0; w < W; w++) {
        const child = fork(path.join(__dirname, 'worker.js'), [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
        children.push(child);
        child.on('message', (m: FromWorker) => {
          if (m.type === 'error') return fail(new Error(`sweep worker: ${m.message}`));
          results[m.id] = m.result;
          onPoint(++done);
          if (done === scenarios.length) resolve();
          else give(child);
        });
        child.on('error', (e) => fail(e));
        child.on('exit', (code) => {
          if (!retired.has(child) && done < scenarios.length) fail(new Error(`sweep worker exited with code ${code} before the sweep was done`));
        });
        child.send({ type: 'init', init } satisfies ToWorker);
        give(child);
      }
    });
  } finally {
    for (const c of children) if (c.connected) c.disconnect();
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill();
  }
  return results as PointResult[];
}
