import * as fs from 'fs';
import * as path from 'path';
import { SHIPPED_TRACES, synthesizeTrace } from '../../src/network/synth';
import { markovMeanRateBps } from '../../src/network/server';
import { parseTrace, traceStats } from '../../src/network/trace';

const TRACES = path.resolve(__dirname, '../../traces');

describe('synthetic traces', () => {
  test.each(SHIPPED_TRACES.map((s) => [s.file, s] as const))('traces/%s is exactly what its generator writes', (_name, spec) => {
    const shipped = fs.readFileSync(path.join(TRACES, spec.file), 'utf8');
    expect(shipped).toBe(synthesizeTrace(spec));
  });

  test('a constant rate gives evenly spaced opportunities and loops at the duration', () => {
    // 6 Mbit/s = 750 B per ms: one opportunity every 2 ms.
    const text = synthesizeTrace({ file: 'c', seed: 1, durationMs: 10, states: [{ rateBps: 6e6, meanSojournMs: 1e9 }, { rateBps: 6e6, meanSojournMs: 1e9 }] });
    expect(text).toBe('2\n4\n6\n8\n10\n');
  });

  test('a long synthetic trace carries the Markov chain\'s mean rate', () => {
    const spec = { ...SHIPPED_TRACES[0], durationMs: 2_000_000 };
    const s = traceStats(parseTrace(synthesizeTrace(spec), 'long'));
    const want = markovMeanRateBps(spec.states) / 1e6;
    expect(Math.abs(s.meanMbps - want) / want).toBeLessThan(0.03);
  });
});
