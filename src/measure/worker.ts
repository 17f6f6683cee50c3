/**
 * Child-process entry of parallel measurement: runs the units its parent sends, one at a
 * time, with the zoo's loaders (models stay loaded between units), and sends back progress
 * and each unit's per-sample results. It exits when told to, and when its parent goes away
 * (the IPC channel closes), so a killed measurement leaves no worker behind.
 */
import { UserError } from '../util/errors';
import { UnitRunner, type ParentMessage, type WorkerMessage } from './parallel';
import { zooEnvironment } from './zooRunner';

function send(m: WorkerMessage): void {
  if (process.connected) process.send!(m);
}

const runner = new UnitRunner(zooEnvironment);
let chain: Promise<void> = Promise.resolve();

process.on('disconnect', () => process.exit(0));
process.on('message', (m: ParentMessage) => {
  if (m.type === 'exit') {
    chain.then(() => process.exit(0), () => process.exit(1));
    return;
  }
  chain = chain.then(() => runner.run(m.unit, (done) => send({ type: 'progress', done })))
    .then((out) => send({ type: 'done', id: m.unit.id, backend: out.backend, results: [...out.results] }))
    .catch((e: unknown) => send(e instanceof UserError
      ? { type: 'error', message: e.message, user: true }
      : { type: 'error', message: (e as Error)?.stack ?? String(e) }));
});
