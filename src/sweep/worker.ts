/**
 * Child-process entry of a parallel sweep: receives the scenario file once, then points one
 * at a time, and sends back each point's summary rows. It exits when its parent goes away.
 */
import { Resolutions, simulatePoint } from './point';
import type { FromWorker, ToWorker } from './parallel';

let resolutions: Resolutions | undefined;
let deadlineMs: number | undefined;

function send(m: FromWorker): void {
  process.send!(m);
}

process.on('message', (m: ToWorker) => {
  if (m.type === 'init') {
    resolutions = new Resolutions(m.init.file, m.init.resolve);
    deadlineMs = m.init.deadlineMs;
    return;
  }
  resolutions!
    .get(m.scenario)
    .then((resolved) => send({ type: 'point', id: m.id, result: simulatePoint(m.scenario, resolved, deadlineMs) }))
    .catch((e: unknown) => send({ type: 'error', message: (e as Error)?.stack ?? String(e) }));
});
process.on('disconnect', () => process.exit(0));
