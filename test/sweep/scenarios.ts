import * as fs from 'fs';
import * as path from 'path';

/**
 * A two-pipeline scenario whose crossover over the uplink rate can be computed by hand: one
 * device sends a frame every 500 ms (no queueing at any swept rate) over a constant uplink
 * with datagram delivery and 28-byte headers. `small` spends 20 ms on the device and sends
 * 200 B (one 228-byte packet); `big` spends 2 ms and sends 1400 B (one 1428-byte packet).
 * Everything else is equal, so small - big = 18 ms - (1428 - 228) x 8 / R s, zero at
 * R* = 9600 / 0.018 = 533,333 bit/s: below it `small` is faster, above it `big`.
 */
export const CROSSOVER_BPS = (1200 * 8) / 0.018;

export const TWO_PIPELINES = `
name: two
seed: 3
duration: { requests: 200 }
devices:
  count: 1
  arrival: { type: periodic, fps: 2 }
uplink: { type: constant, rateBps: 1000000, delayMs: 10 }
downlink: { type: constant, rateBps: 10000000, delayMs: 10 }
edge: { workers: 1 }
pipelines:
  - { name: small, deviceMs: 20, payloadBytes: 200, edgeMs: 1, resultBytes: 8 }
  - { name: big, deviceMs: 2, payloadBytes: 1400, edgeMs: 1, resultBytes: 8 }
`;

/** Declared pipelines, random costs, several devices, a deadline and a Markov uplink. */
export const NOISY = `
name: noisy
seed: 11
duration: { requests: 600 }
warmup: { requests: 50 }
devices:
  count: 3
  arrival: { type: poisson, ratePerS: 5 }
  profile: raspberry-pi-4
  radio: lte
uplink:
  type: markov
  states: [{ rateBps: 3000000, meanSojournMs: 500 }, { rateBps: 500000, meanSojournMs: 500 }]
  delayMs: 20
  delivery: { mode: tcp }
downlink: { type: constant, rateBps: 8000000, delayMs: 20 }
edge: { workers: 1 }
deadlineMs: 150
pipelines:
  - name: offload
    deviceMs: { type: normal, mean: 4, std: 1 }
    payloadBytes: [8000, 9500, 12000, 7000]
    edgeMs: { type: exponential, mean: 10 }
    resultBytes: 64
    accuracy: 0.93
  - name: split
    deviceMs: { type: normal, mean: 25, std: 3 }
    payloadBytes: { type: lognormal, mean: 1500, std: 300 }
    edgeMs: 5
    resultBytes: 64
    accuracy: 0.91
  - name: local
    local: true
    deviceMs: { type: lognormal, mean: 60, std: 10 }
    accuracy: 0.93
`;

/** Writes a scenario file into `dir` and returns its path. */
export function writeScenario(dir: string, name: string, text: string): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, text);
  return f;
}
