import fc from 'fast-check';
import { makeLink, tempFile } from './helpers';

/*
 * Delivery over a mahimahi trace, pinned down by hand. Unless said otherwise the trace has
 * opportunities at ms 2, 4, 6, 8, 10 (period 10), 1500 bytes each, no headers, no delay.
 */
const EVEN = tempFile('even.up', '2\n4\n6\n8\n10\n');

function traceLink(extra: Record<string, unknown> = {}, file = EVEN) {
  return makeLink({ type: 'trace', file, startOffsetMs: 0, headerBytes: 0, ...extra } as never);
}

function deliver(sends: Array<[atMs: number, bytes: number]>, extra: Record<string, unknown> = {}, file = EVEN): number[] {
  const l = traceLink(extra, file);
  sends.forEach(([at, bytes], i) => l.sendAt(at, i, bytes));
  l.sim.run();
  return sends.map((_, i) => {
    const d = l.byId.get(i);
    if (!d || !d.ok) throw new Error(`request ${i} not delivered`);
    return d.atMs;
  });
}

describe('mahimahi semantics', () => {
  test('a trace of the single line "1" carries exactly 12 Mbit/s', () => {
    const one = tempFile('one.up', '1\n');
    // 1000 full packets of 1500 B = 12 Mbit leave by the 1000th opportunity, at 1000 ms.
    expect(deliver([[0, 1000 * 1500]], {}, one)).toEqual([1000]);
    // With IPv4+UDP headers the same 1000 packets carry 1000·1472 payload bytes.
    expect(deliver([[0, 1000 * 1472]], { headerBytes: 28 }, one)).toEqual([1000]);
    expect(deliver([[0, 1000 * 1472 + 1]], { headerBytes: 28 }, one)).toEqual([1001]);
  });

  test('a packet never uses an opportunity in the millisecond it arrived', () => {
    expect(deliver([[3.9, 1000]])).toEqual([4]);
    expect(deliver([[4, 1000]])).toEqual([6]);
    expect(deliver([[4.3, 1000]])).toEqual([6]);
    expect(deliver([[5.999, 1000]])).toEqual([6]);
  });

  test('small packets share one opportunity; the overflow leaves with its last byte', () => {
    // 3 × 400 B fit in the 1500 B at ms 2; the fourth puts 300 B there and 100 B at ms 4.
    expect(deliver([[0.5, 400], [0.5, 400], [0.5, 400], [0.5, 400]])).toEqual([2, 2, 2, 4]);
  });

  test('unused bytes of an opportunity are lost', () => {
    // 1400 B of the opportunity at 2 go unused; the second packet arrives in ms 2 and takes ms 4.
    expect(deliver([[0.5, 100], [2.5, 100]])).toEqual([2, 4]);
  });

  test('a large packet spans opportunities and the next packet uses what it leaves', () => {
    // One 2000 B packet (MTU 3000): 1500 B at ms 2, 500 B at ms 4; 800 B fits in the 1000 B
    // left at ms 4; then 300 B: 200 B at ms 4 and 100 B at ms 6.
    expect(deliver([[0, 2000], [1, 800], [1, 300]], { mtuBytes: 3000 })).toEqual([4, 4, 6]);
  });

  test('a payload is cut into MTU packets and delivered with its last packet', () => {
    // 3000 B with 28 B headers: 1472+28, 1472+28, 56+28 -> opportunities 2, 4, 6.
    const l = traceLink({ headerBytes: 28 });
    l.sendAt(0, 7, 3000);
    l.sim.run();
    expect(l.byId.get(7)).toEqual({ atMs: 6, ok: true });
    expect(l.link.stats()).toMatchObject({ packets: 3, headerBytes: 84, wireBytes: 3084, delivered: 1 });
  });

  test('the trace loops with period = last timestamp', () => {
    // Four 1500 B packets from 7.5 ms: opportunities 8, 10, then 12 and 14 of the second loop.
    expect(deliver([[7.5, 6000]])).toEqual([14]);
    // A payload arriving in the last millisecond of the loop waits for the next loop.
    expect(deliver([[10.2, 10]])).toEqual([12]);
  });

  test('repeated timestamps are several opportunities in one millisecond', () => {
    const rep = tempFile('rep.up', '3\n3\n5\n');
    expect(deliver([[0, 3000], [0, 1500]], {}, rep)).toEqual([3, 5]);
    // Second loop: 8, 8, 10.
    expect(deliver([[5, 4500]], {}, rep)).toEqual([10]);
  });

  test('a start offset shifts the trace: sim time t is trace time t + offset', () => {
    // Offset 9: sim 0 = trace 9; opportunities at trace 10, 12, 14 = sim 1, 3, 5.
    expect(deliver([[0, 4500]], { startOffsetMs: 9 })).toEqual([5]);
    expect(deliver([[0, 1500]], { startOffsetMs: 3 })).toEqual([1]);
  });

  test('propagation delay is added after the bottleneck', () => {
    expect(deliver([[0.5, 400], [0.5, 1400]], { delayMs: 7 })).toEqual([9, 11]);
  });

  test('a random start offset is drawn per link from the seed, in [0, period)', () => {
    const offs = [1, 2, 3, 4, 5, 6].map((seed) => makeLink({ type: 'trace', file: EVEN } as never, { seed }).link.startOffsetMs);
    for (const o of offs) expect(Number.isInteger(o) && o >= 0 && o < 10).toBe(true);
    expect(new Set(offs).size).toBeGreaterThan(1);
    expect(makeLink({ type: 'trace', file: EVEN } as never, { seed: 3 }).link.startOffsetMs).toBe(offs[2]);
  });

  test('drop-tail queue in packets: the packet in service is not counted', () => {
    const l = traceLink({ queue: { limitPackets: 2 } });
    l.sendAt(0, 1, 6000); // 4 packets: 1 in service, 2 queued, 1 dropped -> the datagram fails
    l.sim.run();
    expect(l.byId.get(1)?.ok).toBe(false);
    expect(l.link.stats()).toMatchObject({ packetsDropped: 1, failed: 1, delivered: 0 });
  });
});

/**
 * A literal millisecond-by-millisecond transcription of mm-link's loop: at each ms, first the
 * opportunities of that ms are spent on packets that arrived in earlier ms, then the packets
 * of this ms join the queue. Returns each packet's departure time.
 */
function referenceMahimahi(times: number[], periodMs: number, packets: Array<{ atMs: number; bytes: number }>, B = 1500): number[] {
  const dep = new Array<number>(packets.length).fill(NaN);
  const queue: number[] = [];
  let inTransit = -1;
  let left = 0;
  let next = 0; // next packet by arrival
  const order = packets.map((_, i) => i).sort((a, b) => packets[a].atMs - packets[b].atMs || a - b);
  let oppIdx = 0;
  const oppTime = (k: number) => times[k % times.length] + Math.floor(k / times.length) * periodMs;
  for (let ms = 0; dep.some(Number.isNaN); ms++) {
    while (oppTime(oppIdx) === ms) {
      let bytes = B;
      oppIdx++;
      while (bytes > 0) {
        if (inTransit < 0) {
          if (queue.length === 0) break;
          inTransit = queue.shift()!;
          left = packets[inTransit].bytes;
        }
        const use = Math.min(bytes, left);
        bytes -= use;
        left -= use;
        if (left === 0) { dep[inTransit] = ms; inTransit = -1; }
      }
    }
    while (next < order.length && Math.floor(packets[order[next]].atMs) === ms) queue.push(order[next++]);
  }
  return dep;
}

test('event-driven trace link equals a literal mm-link loop on random traces and arrivals', () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 1, maxLength: 12 }),
      fc.array(fc.record({
        atMs: fc.tuple(fc.integer({ min: 0, max: 40 }), fc.constantFrom(0, 0.25, 0.5, 0.999)).map(([ms, f]) => ms + f),
        bytes: fc.integer({ min: 1, max: 4000 }),
      }), { minLength: 1, maxLength: 25 }),
      (gaps, packets) => {
        const times: number[] = [];
        let t = 0;
        for (const g of gaps) { t += g; times.push(t); }
        if (t === 0) times[times.length - 1] = t = 1;
        const file = tempFile('rand.up', times.join('\n') + '\n');
        const l = makeLink({ type: 'trace', file, startOffsetMs: 0, headerBytes: 0, mtuBytes: 4000 } as never);
        // Same-time sends keep their index order in both models.
        packets.forEach((p, i) => l.sendAt(p.atMs, i, p.bytes));
        l.sim.run();
        const want = referenceMahimahi(times, t, packets);
        const got = packets.map((_, i) => l.byId.get(i)!.atMs);
        expect(got).toEqual(want);
      },
    ),
    { numRuns: 300, seed: 42 },
  );
});
