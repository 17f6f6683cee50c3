import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runSimulate } from '../../src/cli/simulate';
import { loadScenario, SCENARIOS_DIR } from '../../src/config/scenario';
import { markovMeanRateBps } from '../../src/network/server';
import { loadTrace, traceStats } from '../../src/network/trace';

const files = fs.readdirSync(SCENARIOS_DIR).filter((f) => /\.ya?ml$/.test(f)).sort();

describe('shipped scenarios', () => {
  test('include lte, 5g, wifi, 3g and an IoT link', () => {
    for (const name of ['lte.yaml', '5g.yaml', 'wifi.yaml', '3g.yaml']) expect(files).toContain(name);
    expect(files.some((f) => f === 'lora.yaml' || f === 'nb-iot.yaml')).toBe(true);
  });

  test.each(files)('splitsim simulate runs %s: every pipeline completes requests', async (file) => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'splitsim-scen-'));
    const res = await runSimulate({ scenario: file, out });
    expect(res.rows.length).toBeGreaterThan(0);
    for (const row of res.rows) {
      expect(Number(row.completed)).toBeGreaterThan(0);
      expect(Number.isFinite(Number(row.e2e_mean_ms))).toBe(true);
    }
    expect(fs.existsSync(path.join(out, 'summary.csv'))).toBe(true);
  });

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
