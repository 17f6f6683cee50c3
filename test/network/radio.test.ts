import { parseScenario } from '../../src/config/scenario';
import { RadioMeter, radioModel, RADIOS } from '../../src/network/radio';
import { resolveScenario } from '../../src/pipelines/resolve';
import { summarizeRun } from '../../src/report/summary';
import { simulatePipeline } from '../../src/sim/system';

const LTE = radioModel('lte');

describe('radio power models', () => {
  test('the cited Huang et al. (MobiSys 2012) LTE and WiFi parameters', () => {
    expect(LTE).toMatchObject({ uplinkMwPerMbps: 438.39, downlinkMwPerMbps: 51.97, uplinkBaseMw: 1288.04, tailMs: 11576, tailMw: 1060, promotionMs: 260.1, promotionMw: 1210.7 });
    expect(radioModel('wifi')).toMatchObject({ uplinkMwPerMbps: 283.17, downlinkMwPerMbps: 137.01, uplinkBaseMw: 132.86 });
    for (const r of RADIOS) expect(r.source.length).toBeGreaterThan(20);
  });

  test('meter: overlapping packets are one active period; a gap costs tail, a long gap a promotion', () => {
    const m = new RadioMeter(LTE);
    m.airtime(true, 0, 10, 1000);
    m.airtime(false, 5, 12, 500); // overlaps: merged into [0, 12]
    m.airtime(true, 112, 113, 100); // 100 ms gap: tail
    m.airtime(true, 20000, 20001, 100); // > 11576 ms gap: tail 11576, then a promotion
    const e = m.finish();
    const transfer = (438.39 * 1200 * 8 + 51.97 * 500 * 8) / 1e6 + (1288.04 * (12 + 1 + 1)) / 1000;
    const tail = (1060 * (100 + 11576 + 11576)) / 1000;
    expect(e.activeMs).toBeCloseTo(14, 12);
    expect(e.promotions).toBe(2);
    expect(e.transferMj).toBeCloseTo(transfer, 9);
    expect(e.tailMj).toBeCloseTo(tail, 9);
    expect(e.promotionMj).toBeCloseTo((2 * 1210.7 * 260.1) / 1000, 9);
    expect(e.energyMj).toBeCloseTo(transfer + tail + e.promotionMj, 9);
  });
});

test('meter: a reception reported before an earlier transmission is still placed in time order', () => {
  const m = new RadioMeter(LTE, 100);
  m.airtime(false, 50, 51, 100, 10); // a reply leaving the edge at 10, received at 50
  m.airtime(true, 20, 21, 100, 21); // a transmission that ended at 21
  const e = m.finish();
  expect(e.activeMs).toBeCloseTo(2, 12); // [20, 21] and [50, 51], not [20, 51]
  expect(e.tailMj).toBeCloseTo((1060 * (29 + 11576)) / 1000, 9);
  expect(e.promotions).toBe(1);
});

describe('radio energy through the simulator', () => {
  test('one request over a constant LTE link: the hand computation from the cited model (1%)', async () => {
    const s = parseScenario({
      seed: 1,
      duration: { requests: 1 },
      devices: { count: 1, arrival: { type: 'periodic', fps: 1, phase: 'aligned' }, profile: 'raspberry-pi-4', radio: 'lte' },
      uplink: { type: 'constant', rateBps: 5e6, delayMs: 30 },
      downlink: { type: 'constant', rateBps: 1e7, delayMs: 30 },
      pipelines: [{ name: 'p', deviceMs: 10, payloadBytes: 3000, edgeMs: 5, resultBytes: 100 }],
    }, 'radio.yaml');
    const r = await resolveScenario({ scenario: s, file: 'radio.yaml' });
    const run = simulatePipeline(s, r.records[0], { radio: r.radio, power: r.power });
    const row = summarizeRun(run);
    // Uplink: 3000 B in 3 packets (1472 + 1472 + 56 B of payload, 28 B UDP/IPv4 header each).
    const upBits = (3000 + 3 * 28) * 8;
    const upMs = (upBits / 5e6) * 1000;
    const downBits = (100 + 28) * 8;
    const downMs = (downBits / 1e7) * 1000;
    // Radio idle at first: a promotion; the uplink transfer; the tail while the payload travels
    // 30 ms, the edge computes 5 ms and the reply travels 30 ms (the device receives it at the
    // far end of the downlink); the reply's reception; then the full tail.
    const hand =
      (1210.7 * 260.1) / 1000 +
      (438.39 * upBits) / 1e6 + (1288.04 * upMs) / 1000 +
      (1060 * (30 + 5 + 30)) / 1000 +
      (51.97 * downBits) / 1e6 + (1288.04 * downMs) / 1000 +
      (1060 * 11576) / 1000;
    expect(Math.abs((row.energy_radio_mj as number) - hand) / hand).toBeLessThan(0.01);
    expect(row.energy_radio_mj).toBeCloseTo(hand, 6); // and in fact exactly
    expect(row.radio_promotions).toBe(1);
    // Compute: active power while busy, idle otherwise, over the run.
    expect(row.energy_compute_mj).toBeCloseTo(6.4 * 10 + 2.7 * (run.endMs - 10), 9);
  });
});
