import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseCsv } from '../../src/cli/compare';
import { loadScenario, SCENARIOS_DIR } from '../../src/config/scenario';
import { cliHarness } from '../helpers/cli';
import { markovMeanRateBps } from '../../src/network/server';
import { loadTrace, traceStats } from '../../src/network/trace';

const files = fs.readdirSync(SCENARIOS_DIR).filter((f) => /\.ya?ml$/.test(f)).sort();
// Through the compiled CLI: measurement then runs in two worker processes, and the shipped
// scenarios share one measured cache (their pipelines are subsets of lte.yaml's).
const { maybe, run } = cliHarness('scenarios', 'src/cli/index.js');

describe('shipped scenarios', () => {
  test('include lte, 5g, wifi, 3g, LoRa and NB-IoT; only the example file declares its pipelines', () => {
    for (const name of ['lte.yaml', '5g.yaml', 'wifi.yaml', '3g.yaml', 'lora.yaml', 'nbiot.yaml', 'declared-lte.yaml']) expect(files).toContain(name);
    for (const f of files) {
      const text = fs.readFileSync(path.join(SCENARIOS_DIR, f), 'utf8');
      expect([f, /deviceMs:/.test(text)]).toEqual([f, f === 'declared-lte.yaml']);
    }
  });
});

maybe('shipped scenarios run', () => {
  test.each(files)('splitsim simulate runs %s: every pipeline completes requests, a best one is chosen', (file) => {
    // Scenarios on ../shared data (ImageNet-scale) run on 20 samples here; their full runs are in README.
    const text = fs.readFileSync(path.join(SCENARIOS_DIR, file), 'utf8');
    const shared = /\.\.\/\.\.\/shared\//.test(text);
    if (shared && !fs.existsSync(path.join(SCENARIOS_DIR, '..', '..', 'shared', 'real'))) {
      console.log(`skipping ${file}: it reads ../shared/real, which is absent`);
      return;
    }
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'splitsim-scen-'));
    const r = run(['simulate', '--scenario', file, '--out', out, ...(shared ? ['--samples', '20'] : [])]);
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    const [head, ...rows] = parseCsv(fs.readFileSync(path.join(out, 'summary.csv'), 'utf8'));
    const col = (row: string[], c: string) => row[head.indexOf(c)];
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) {
      expect(Number(col(row, 'completed'))).toBeGreaterThan(0);
      expect(Number.isFinite(Number(col(row, 'e2e_mean_ms')))).toBe(true);
      expect(Number(col(row, 'energy_compute_mj'))).toBeGreaterThan(0);
    }
    expect(rows.filter((row) => col(row, 'best') === '1')).toHaveLength(1);
    expect(r.stdout).toMatch(/^best: /m);
    fs.rmSync(out, { recursive: true, force: true });
  });
});

describe('shipped scenario links', () => {

  test('link parameters sit on their cited anchors', () => {
    const up = (n: string) => loadScenario(n).scenario.uplink;
    // 5G mmWave uplink: about 50-150 Mbps.
    const g5 = up('5g');
    if (g5.type !== 'markov') throw new Error('5g uplink should be Markov-modulated');
    const g5Mbps = markovMeanRateBps(g5.states) / 1e6;
    expect(g5Mbps).toBeGreaterThan(50);
    expect(g5Mbps).toBeLessThan(150);
    expect(2 * g5.delayMs).toBe(14);
    // 3G uplink: about 0.8-2 Mbps with a 150-300 ms RTT.
    const g3 = up('3g');
    if (g3.type !== 'trace') throw new Error('3g uplink should be trace-driven');
    const g3Mbps = traceStats(loadTrace(g3.file, g3.format)).meanMbps;
    expect(g3Mbps).toBeGreaterThan(0.8);
    expect(g3Mbps).toBeLessThan(2);
    expect(2 * g3.delayMs).toBeGreaterThanOrEqual(150);
    expect(2 * g3.delayMs).toBeLessThanOrEqual(300);
    // LoRaWAN EU868 DR0-DR5: 250-5470 bit/s, 59-250-byte MAC payloads.
    const lora = up('lora');
    if (lora.type !== 'constant') throw new Error('lora uplink should be constant-rate');
    expect(lora.rateBps).toBeGreaterThanOrEqual(250);
    expect(lora.rateBps).toBeLessThanOrEqual(5470);
    expect(lora.mtuBytes - 5).toBeLessThanOrEqual(250); // PHYPayload = MHDR 1 + MACPayload + MIC 4
  });
});
