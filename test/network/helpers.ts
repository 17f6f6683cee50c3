import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Simulator } from '../../src/engine/simulator';
import { Rng } from '../../src/engine/rng';
import { EmulatedLink, linkSpecSchema, type LinkSpecInput } from '../../src/network/link';

/** A link on a fresh simulator that records (requestId, time, ok) of every delivery. */
export function makeLink(spec: LinkSpecInput, opts: { seed?: number; devices?: number; baseDir?: string; record?: boolean } = {}) {
  const sim = new Simulator();
  const deliveries: Array<{ id: number; atMs: number; ok: boolean }> = [];
  const byId = new Map<number, { atMs: number; ok: boolean }>();
  const link = new EmulatedLink(linkSpecSchema.parse(spec), {
    sim,
    rng: new Rng(opts.seed ?? 1, 'test-link'),
    name: 'test',
    baseDir: opts.baseDir,
    onDelivered: (id, ok) => {
      if (opts.record === false) return;
      deliveries.push({ id, atMs: sim.nowMs, ok });
      byId.set(id, { atMs: sim.nowMs, ok });
    },
  }, opts.devices ?? 1);
  /** Schedules send(id, bytes, device) at absolute time atMs. */
  const sendAt = (atMs: number, id: number, bytes: number, device = 0) => {
    const t = sim.register(() => link.send(id, bytes, device));
    sim.scheduleAt(atMs, t, 0);
  };
  return { sim, link, deliveries, byId, sendAt };
}

/** Writes text to a fresh temporary file and returns its path. */
export function tempFile(name: string, text: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'splitsim-net-'));
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}

/** ../shared/traces relative to the project root, or undefined (with a printed reason). */
export function sharedTraces(): string | undefined {
  const dir = path.resolve(__dirname, '../../../shared/traces');
  if (!fs.existsSync(path.join(dir, 'SOURCES.md'))) {
    // eslint-disable-next-line no-console
    console.log(`skipping tests on real traces: ${dir} is absent`);
    return undefined;
  }
  return dir;
}
