/**
 * Child-process entry of parallel measurement: receives one WorkerJob, runs it with the
 * zoo's loaders and sends back progress and the per-sample results.
 */
import { runJob, type WorkerJob, type WorkerMessage } from './parallel';
import { zooEnvironment } from './zooRunner';

function send(m: WorkerMessage): void {
  process.send!(m);
}

process.once('message', (job: WorkerJob) => {
  runJob(job, zooEnvironment, (done) => send({ type: 'progress', done }))
    .then((out) => send({ type: 'done', backend: out.backend, results: [...out.results] }))
    .catch((e: unknown) => send({ type: 'error', message: (e as Error)?.stack ?? String(e) }));
});
