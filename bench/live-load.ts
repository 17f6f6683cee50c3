/**
 * `npm run bench -- live-load [--scenario S] [--seconds N]`: the live load test. Plays
 * scenarios/live-load.yaml (16 devices, 60 s) through `splitsim live` and prints: requests
 * scheduled, answered, lost, rows in live-requests.csv, and the tail server's resident memory
 * over the run (first and last 10 s, min and max), from which "flat" is judged.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runLive } from '../src/live/live';
import { RequestStatus } from '../src/sim/requests';

export async function main(args: string[]): Promise<void> {
  const flag = (name: string) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
  const scenario = flag('--scenario') ?? 'live-load';
  const seconds = flag('--seconds');
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'splitsim-live-load-'));
  const t0 = Date.now();
  const res = await runLive({ scenario, out, ...(seconds ? { requests: Math.round(Number(seconds) * 160) } : {}) }, (m) => process.stderr.write(`  ${m}\n`));
  for (const r of res.runs) {
    const T = r.live.requests;
    let completed = 0;
    const byStatus = new Map<number, number>();
    for (let i = 0; i < T.count; i++) {
      byStatus.set(T.status[i], (byStatus.get(T.status[i]) ?? 0) + 1);
      if (T.status[i] === RequestStatus.Completed) completed++;
    }
    const csv = fs.readFileSync(path.join(out, 'live-requests.csv'), 'utf8').trim().split('\n').length - 1;
    const mem = r.memory.map(([t, rss]) => [t / 1000, rss / 2 ** 20] as const);
    const span = mem.length > 0 ? mem[mem.length - 1][0] : 0;
    const first = mem.filter(([t]) => t <= 10).map(([, m]) => m);
    const last = mem.filter(([t]) => t >= span - 10).map(([, m]) => m);
    const fmt = (xs: number[]) => (xs.length ? `${Math.min(...xs).toFixed(1)}-${Math.max(...xs).toFixed(1)} MiB` : '-');
    process.stdout.write(
      `${r.record.name}: ${T.count} requests scheduled from ${res.plan.scenario.devices.count} devices, ${completed} answered, ` +
        `${T.count - completed} lost (${r.live.failures.length} without an answer), ${csv} rows in live-requests.csv\n` +
        `  server: ${r.server ? r.server.after.received - r.server.before.received : '?'} received, ${r.server ? r.server.after.completed - r.server.before.completed : '?'} completed; ` +
        `edge utilisation ${(r.measuredUtilization * 100).toFixed(1)} % (predicted ${(r.predictedUtilization * 100).toFixed(1)} %)\n` +
        `  server RSS over ${span.toFixed(0)} s: first 10 s ${fmt(first)}, last 10 s ${fmt(last)}, whole run ${fmt(mem.map(([, m]) => m))} (${mem.length} samples)\n`,
    );
  }
  process.stdout.write(`${res.table}\n(${((Date.now() - t0) / 1000).toFixed(0)} s; files in ${out})\n`);
}
