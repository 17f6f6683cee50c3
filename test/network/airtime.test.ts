import { Simulator } from '../../src/engine/simulator';
import { Rng } from '../../src/engine/rng';
import { createDeviceLinks } from '../../src/network/link';

/** Every packet's time on the bottleneck, as the radio-energy observer sees it. */
function record(spec: Parameters<typeof createDeviceLinks>[0], devices: number) {
  const sim = new Simulator();
  const air: Array<{ dev: number; start: number; end: number; bytes: number }> = [];
  const links = createDeviceLinks(spec, devices, {
    sim, rng: new Rng(3, 'air'), name: 'up', onDelivered: () => undefined,
    onAirtime: (dev, start, end, bytes) => air.push({ dev, start, end, bytes }),
  });
  return { sim, links, air };
}

describe('airtime observer', () => {
  test('constant link: one interval per packet, back to back, of its serialization time', () => {
    const r = record({ type: 'constant', rateBps: 1e6, delayMs: 20 }, 1);
    const t = r.sim.register(() => r.links[0].send(1, 2000, 0));
    r.sim.scheduleAt(5, t, 0);
    r.sim.run();
    // 2000 B -> 1472 + 528 B of payload, +28 B header each: 1500 and 556 wire bytes.
    expect(r.air).toEqual([
      { dev: 0, start: 5, end: 5 + 12, bytes: 1500 },
      { dev: 0, start: 17, end: expect.closeTo(17 + 4.448, 9), bytes: 556 },
    ]);
  });

  test('per-device links report the device they belong to; a shared link the sender', () => {
    for (const sharing of ['per-device', 'fifo'] as const) {
      const r = record({ type: 'constant', rateBps: 8e6, sharing }, 3);
      const t = r.sim.register((d) => r.links[d].send(d, 100, d));
      r.sim.scheduleAt(0, t, 2);
      r.sim.scheduleAt(1, t, 1);
      r.sim.run();
      expect(r.air.map((a) => a.dev).sort()).toEqual([1, 2]);
      for (const a of r.air) expect(a.end - a.start).toBeCloseTo((128 * 8) / 8e3, 9);
    }
  });

  test('a lost packet and its retransmission both cost airtime', () => {
    const r = record({ type: 'constant', rateBps: 1e6, loss: { model: 'bernoulli', p: 0.5 }, delivery: { mode: 'arq', rtoMs: 30, maxRetries: 50 } }, 1);
    const t = r.sim.register(() => r.links[0].send(1, 100, 0));
    r.sim.scheduleAt(0, t, 0);
    r.sim.run();
    const st = r.links[0].stats();
    expect(r.air.length).toBe(1 + st.retransmissions);
    expect(r.air.reduce((s, a) => s + a.bytes, 0)).toBe(st.wireBytes);
  });
});
