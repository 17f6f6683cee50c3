import { parseScenario, type Scenario } from '../../src/config/scenario';
import type { Link, LinkContext, LinkStats } from '../../src/network/link';
import { emptyStats } from '../../src/network/link';
import { resolveScenario } from '../../src/pipelines/resolve';
import { simulatePipeline, type LinkFactory, type PipelineRun } from '../../src/sim/system';

/** A link that delivers every payload at the instant it is sent (no packets, no delay). */
class InstantLink implements Link {
  private readonly st: LinkStats = emptyStats();
  private readonly ev: number;
  constructor(readonly name: string, private readonly ctx: LinkContext) {
    this.ev = ctx.sim.register((id) => {
      this.st.delivered++;
      ctx.onDelivered(id, true);
    });
  }
  send(requestId: number, payloadBytes: number): void {
    this.st.payloads++;
    this.st.payloadBytes += payloadBytes;
    this.ctx.sim.schedule(0, this.ev, requestId);
  }
  stats(): LinkStats { return { ...this.st }; }
}

/** Link factory for queueing-theory checks: the edge queue sees the arrival process as is. */
export const instantLinks: LinkFactory = (_spec, n, ctx) => {
  const out: Link[] = [];
  for (let d = 0; d < n; d++) out.push(new InstantLink(`${ctx.name}[${d}]`, ctx));
  return out;
};

/**
 * A scenario of Poisson arrivals (`ratePerS`) straight into the edge queue (`workers`
 * servers, service time `edgeMs`): zero device time and zero payloads; pass instantLinks
 * to simulate so the links add nothing either.
 */
export function edgeQueueScenario(opts: {
  ratePerS: number;
  edgeMs: unknown;
  workers: number;
  requests: number;
  warmup: number;
  seed?: number;
  drain?: boolean;
}): Scenario {
  return parseScenario(
    {
      name: 'validation',
      seed: opts.seed ?? 7,
      duration: { requests: opts.requests },
      warmup: { requests: opts.warmup },
      drain: opts.drain ?? true,
      devices: { count: 1, arrival: { type: 'poisson', ratePerS: opts.ratePerS } },
      uplink: { type: 'constant', rateBps: 1e9, delayMs: 0 },
      downlink: { type: 'constant', rateBps: 1e9, delayMs: 0 },
      edge: { workers: opts.workers },
      pipelines: [{ name: 'queue', deviceMs: 0, payloadBytes: 0, edgeMs: opts.edgeMs, resultBytes: 0 }],
    },
    'validation.yaml',
  );
}

/** Resolves the scenario's pipelines and simulates the first one. */
export async function runFirst(s: Scenario, createLinks?: LinkFactory): Promise<PipelineRun> {
  const [p] = (await resolveScenario({ scenario: s, file: 'validation.yaml' })).records;
  return simulatePipeline(s, p, { createLinks, keepRequests: true });
}

/** Erlang C: probability that an arrival waits in M/M/c with offered load a = λ/μ. */
export function erlangC(c: number, a: number): number {
  let sum = 0;
  let term = 1; // a^k / k!
  for (let k = 0; k < c; k++) {
    sum += term;
    term *= a / (k + 1);
  }
  const top = (term * c) / (c - a); // term = a^c / c! now
  return top / (sum + top);
}
