/**
 * Offered load before a run: for each resource (a device's processor, the uplink, the edge
 * workers, the downlink), the work arriving per unit time divided by what the resource can
 * do, from the arrival process and the pipeline's mean costs. A value at or above 1 means
 * queues grow for the whole run: latencies then measure how long the run was, not the
 * system, which is valid input but almost never what was meant, so simulate warns about it.
 */
import type { Scenario } from '../config/scenario';
import { defaultHeaderBytes, type LinkSpec } from '../network/link';
import { markovMeanRateBps } from '../network/server';
import { loadTrace } from '../network/trace';
import type { PipelineRecord } from '../pipelines/record';

/** Offered utilisation of each resource (NaN where it cannot be told, e.g. closed arrivals). */
export interface OfferedLoad {
  device: number;
  uplink: number;
  edge: number;
  downlink: number;
}

/** Requests per second one device offers (NaN for a closed loop: it adapts to the system). */
export function deviceRatePerS(s: Scenario): number {
  const a = s.devices.arrival;
  return a.type === 'periodic' ? a.fps : a.type === 'poisson' ? a.ratePerS : NaN;
}

/** Long-run capacity of a link in bits per second (duty cycle included). */
export function linkCapacityBps(spec: LinkSpec): number {
  switch (spec.type) {
    case 'constant':
      return spec.rateBps * spec.dutyCycle;
    case 'markov':
      return markovMeanRateBps(spec.states, spec.transitions) * spec.dutyCycle;
    case 'trace': {
      const t = loadTrace(spec.file, spec.format, spec.opportunityBytes);
      return (t.timesMs.length * spec.opportunityBytes * 8 * 1000) / t.periodMs;
    }
  }
}

/** Bytes a payload occupies on the link: packets of at most mtu, each with its headers. */
export function wireBytes(spec: LinkSpec, payloadBytes: number): number {
  const header = spec.headerBytes ?? defaultHeaderBytes(spec.delivery);
  const per = spec.mtuBytes - header;
  const n = Math.max(1, Math.ceil(payloadBytes / per));
  return payloadBytes + n * (header + spec.linkOverheadBytes);
}

function linkLoad(spec: LinkSpec, perDeviceRate: number, devices: number, payloadBytes: number): number {
  const sharers = spec.sharing === 'per-device' ? 1 : devices;
  return (perDeviceRate * sharers * wireBytes(spec, payloadBytes) * 8) / linkCapacityBps(spec);
}

/**
 * Offered load of one pipeline in a scenario. The edge's figure uses the cheapest per-request
 * cost batching allows (a full batch), so it is a lower bound when batching is on.
 */
export function offeredLoad(s: Scenario, p: PipelineRecord): OfferedLoad {
  const lambda = deviceRatePerS(s);
  const n = s.devices.count;
  const device = (lambda * p.means.deviceMs) / 1000;
  if (p.local) return { device, uplink: 0, edge: 0, downlink: 0 };
  let edgeMs = p.means.edgeMs;
  if (p.tailBatchMs && p.tailBatchMs.length > 1) {
    const b = p.tailBatchMs.length;
    edgeMs = Math.min(edgeMs, p.means.edgeMs - p.tailBatchMs[0] + p.tailBatchMs[b - 1] / b);
  }
  return {
    device,
    uplink: linkLoad(s.uplink, lambda, n, p.means.payloadBytes),
    edge: (lambda * n * edgeMs) / 1000 / s.edge.workers,
    downlink: linkLoad(s.downlink, lambda, n, p.means.resultBytes),
  };
}

/** Warning lines for resources offered at least their capacity (empty when none). */
export function overloadWarnings(s: Scenario, records: PipelineRecord[], loads: OfferedLoad[]): string[] {
  const out: string[] = [];
  const lambda = deviceRatePerS(s);
  records.forEach((p, i) => {
    const l = loads[i];
    for (const k of ['device', 'uplink', 'edge', 'downlink'] as const) {
      if (!(l[k] >= 1)) continue;
      let what = '';
      if (k === 'uplink' || k === 'downlink') {
        const spec = s[k];
        const bytes = k === 'uplink' ? p.means.payloadBytes : p.means.resultBytes;
        const offered = (lambda * (spec.sharing === 'per-device' ? 1 : s.devices.count) * wireBytes(spec, bytes) * 8) / 1e3;
        what = ` (${offered.toFixed(1)} kbit/s offered${spec.sharing === 'per-device' ? ' per device' : ''}, ${(linkCapacityBps(spec) / 1e3).toFixed(1)} kbit/s capacity)`;
      } else if (k === 'edge') {
        what = ` (${(lambda * s.devices.count).toFixed(2)} requests/s x ${p.means.edgeMs.toFixed(3)} ms on ${s.edge.workers} worker(s))`;
      } else {
        what = ` (${lambda.toFixed(2)} requests/s x ${p.means.deviceMs.toFixed(3)} ms per device)`;
      }
      out.push(`pipeline '${p.name}': ${k} utilisation ${l[k].toFixed(2)}${what}: queues grow for the whole run, so its latencies reflect the run's length`);
    }
  });
  return out;
}
