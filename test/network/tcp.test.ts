import { linkSpecSchema, type LinkSpecInput } from '../../src/network/link';
import { ListLoss } from '../../src/network/loss';
import { makeLink } from './helpers';

/*
 * TCP loss recovery and ACK rules on short timelines, derived by hand. Unless said otherwise:
 * 12 Mbit/s, so a full segment (1460 + 40 B) takes 1 ms on the link; 10 ms each way; no
 * handshake, so the first segment leaves at once; IW 10, RTO 1 s until the first RTT sample
 * and at least 200 ms after it. Segment k (0-based) of the first flight leaves the link at
 * k + 1 ms and reaches the receiver at k + 11 ms; its ACK is back at k + 21 ms.
 */
const SEG = 1460;

function spec(delivery: Record<string, unknown> = {}, drop?: number[]): LinkSpecInput {
  return {
    type: 'constant', rateBps: 12e6, delayMs: 10, ...(drop ? { loss: { model: 'list', drop } } : {}),
    delivery: { mode: 'tcp', handshake: false, ...delivery },
  } as LinkSpecInput;
}

/** Sends `segments` full segments at t = 0 and runs to the end. */
function run(segments: number, drop?: number[], delivery: Record<string, unknown> = {}) {
  const l = makeLink(spec(delivery, drop));
  l.sendAt(0, 1, segments * SEG);
  l.sim.run();
  return { at: l.byId.get(1)!.atMs, ok: l.byId.get(1)!.ok, stats: l.link.stats(), tcp: l.link.tcpSenderState() };
}

describe('NewReno loss recovery', () => {
  test('fast retransmit needs three duplicate ACKs for segments sent after the lost one', () => {
    // Segment 8 of 10 is lost: only segment 9 comes after it, one duplicate ACK. The last new
    // ACK (segment 7's, at 28 ms) restarts the 200 ms timer; the timeout at 228 ms resends 8,
    // which leaves at 229 and completes the payload at 239. Counting ACKs of segments sent
    // before the loss would have resent it at about 30 ms.
    const r = run(10, [9]);
    expect(r.at).toBeCloseTo(239, 9);
    expect(r.stats.retransmissions).toBe(1);
    // ssthresh from what was in flight at the timeout: 8 and 9, less 9 reported by its dupack.
    expect(r.tcp.ssthreshSegments).toBe(2);
  });

  test('two losses in one window: one reduction, the partial ACK resends the next hole', () => {
    // Segments 1 and 3 of 10 are lost. Duplicate ACKs (for 2, 4, 5, ...) arrive from 23 ms; the
    // third (segment 5's, at 26 ms) starts fast recovery: 9 segments outstanding, 3 reported
    // received, so ssthresh = cwnd = 6/2 = 3 segments, and segment 1 is resent (leaves at 27,
    // arrives 37). The receiver then ACKs up to the hole at 3 (back at 47): a partial ACK, which
    // resends 3 at once (leaves 48, arrives 58 and completes the payload) without a second
    // reduction. The full ACK ends recovery at cwnd = ssthresh, grown by 1460²/4380 bytes.
    const l = makeLink(spec({}, [2, 4]));
    l.sendAt(0, 1, 10 * SEG);
    l.sim.run(47.5); // after the partial ACK: still recovering, toward the recovery point
    expect(l.link.tcpSenderState()).toMatchObject({ congestion: 'recovery', ssthreshSegments: 3, cwndSegments: 3 });
    const r = run(10, [2, 4]);
    expect(r.at).toBeCloseTo(58, 9);
    expect(r.stats.retransmissions).toBe(2);
    expect(r.tcp.ssthreshSegments).toBe(3);
    expect(r.tcp.cwndSegments).toBeCloseTo((3 * SEG + Math.floor((SEG * SEG) / (3 * SEG))) / SEG, 12);
    expect(r.tcp.congestion).toBe('open');
  });

  test('the RTO doubles on each timeout of the same segment; retries run out into a failure', () => {
    // One segment, no RTT sample yet (RTO 1 s): lost at 0 and again at 1000; the second timer
    // runs 2 s, the resend at 3000 arrives at 3011.
    expect(run(1, [1, 2]).at).toBeCloseTo(3011, 9);
    // A third loss: the next timer runs 4 s (resend at 7000, arrival 7011).
    expect(run(1, [1, 2, 3]).at).toBeCloseTo(7011, 9);
    // With maxRetries 2 the third timeout (at 7000) gives the connection up.
    const r = run(1, [1, 2, 3], { maxRetries: 2 });
    expect(r.ok).toBe(false);
    expect(r.at).toBe(7000);
  });

  test('after a timeout, the resend starts where the receiver lacks data', () => {
    // Segments 1 and 3 of 4 are lost; one duplicate ACK (for 2), so the timer set by segment 0's
    // ACK (21 ms) runs out at 221: cwnd 1, segment 1 is resent (arrives 232). The ACK jumps
    // past 2 (held by the receiver) to 3, and 3 goes next (leaves 243, arrives 253): 2 is not
    // sent again.
    const r = run(4, [2, 4]);
    expect(r.at).toBeCloseTo(253, 9);
    expect(r.stats.retransmissions).toBe(2);
  });

  test('without SACK, a timeout resends what follows the cumulative ACK, held or not (go-back-N)', () => {
    // As above with 5 segments: at the ACK for 3 (242 ms) slow start allows two segments, 3 and
    // 4, though the receiver already holds 4. Three retransmissions for two losses.
    const r = run(5, [2, 4]);
    expect(r.at).toBeCloseTo(253, 9);
    expect(r.stats.retransmissions).toBe(3);
    expect(r.stats.packetsLost).toBe(2);
  });
});

describe('delayed ACKs', () => {
  test('every second segment or after timeoutMs; slow start grows by one segment per ACK', () => {
    // Two segments: 0 is the connection's first and is ACKed at once (back at 21 ms: cwnd 11);
    // 1 (at 12 ms) waits for a second segment that never comes, the timer sends its ACK at
    // 52 ms, back at 62: cwnd 12.
    const l = makeLink(spec({ delayedAck: { count: 2, timeoutMs: 40 } }));
    l.sendAt(0, 1, 2 * SEG);
    l.sim.run(61);
    expect(l.link.congestionWindow()).toBe(11);
    l.sim.run(63);
    expect(l.link.congestionWindow()).toBe(12);
    // Ten segments: ACKs for 0 alone, then for 1–2, 3–4, 5–6, 7–8 as each pair completes, and 9
    // after the timer: 6 ACKs, so the window grows to 16 (20 without delayed ACKs).
    const m = makeLink(spec({ delayedAck: { count: 2, timeoutMs: 40 } }));
    m.sendAt(0, 1, 10 * SEG);
    m.sim.run();
    expect(m.link.congestionWindow()).toBe(16);
    const n = makeLink(spec());
    n.sendAt(0, 1, 10 * SEG);
    n.sim.run();
    expect(n.link.congestionWindow()).toBe(20);
  });

  test('are off by default', () => {
    expect(linkSpecSchema.parse(spec()).delivery).toMatchObject({ mode: 'tcp', delayedAck: false, controlPacketsOnLink: false });
    expect(linkSpecSchema.parse(spec({ delayedAck: {} })).delivery).toMatchObject({ delayedAck: { count: 2, timeoutMs: 40 } });
  });
});

describe('control packets on the link', () => {
  test('SYN and handshake ACK queue on the link and pay airtime; SYN-ACK and ACKs pay the reverse rate', () => {
    // 40-byte control packets take 1/37.5 ms at 12 Mbit/s. SYN on the link [0, 0.0267], at the
    // receiver at 10.0267; SYN-ACK serialized back until 10.0533, at the sender at 20.0533. The
    // handshake ACK goes first [20.0533, 20.08], then the segment [20.08, 21.08], delivered at
    // 31.08 (31 ms with control packets off the link).
    const air: Array<[number, number, number]> = [];
    const l = makeLink(spec({ handshake: true, controlPacketsOnLink: true }));
    (l.link as unknown as { ctx: { onAirtime: unknown } }).ctx.onAirtime = (_d: number, s: number, e: number, b: number) => air.push([s, e, b]);
    l.sendAt(0, 1, SEG);
    l.sim.run();
    const c = 40 * 8 / 12e3;
    expect(l.byId.get(1)!.atMs).toBeCloseTo(20 + 3 * c + 1 + 10, 9);
    expect(air).toHaveLength(3);
    [[0, c, 40], [20 + 2 * c, 20 + 3 * c, 40], [20 + 3 * c, 21 + 3 * c, 1500]].forEach((want, i) => {
      want.forEach((x, j) => expect(air[i][j]).toBeCloseTo(x, 9));
    });
    // RTT samples: the handshake, 20 + 2c; the segment, sent at 20 + 2c and ACKed (the ACK
    // serialized for c) at 41 + 4c.
    expect(l.link.tcpSenderState().srttMs).toBeCloseTo(0.875 * (20 + 2 * c) + 0.125 * (21 + 2 * c), 9);
    const m = makeLink(spec({ handshake: true, controlPacketsOnLink: false }));
    m.sendAt(0, 1, SEG);
    m.sim.run();
    expect(m.byId.get(1)!.atMs).toBeCloseTo(31, 9);
  });

  test('a lost SYN is sent again after the initial RTO, doubling; the list model never drops control packets', () => {
    // Every packet lost: SYNs at 0, 1000 and 3000; the timer after the third runs to 7000,
    // where maxRetries 2 gives up. Three SYNs crossed the link (3 × 40 bytes).
    const l = makeLink({ type: 'constant', rateBps: 12e6, delayMs: 10, loss: { model: 'bernoulli', p: 1 }, delivery: { mode: 'tcp', maxRetries: 2, controlPacketsOnLink: true } });
    l.sendAt(0, 1, SEG);
    l.sim.run();
    expect(l.byId.get(1)).toEqual({ atMs: 7000, ok: false });
    expect(l.link.stats()).toMatchObject({ wireBytes: 120, packetsLost: 3, retransmissions: 0 });
    // drop [1] loses the first data packet, not the SYN: the segment sent at 20.0533 times out
    // after 200 ms and its resend arrives at 220.0533 + 1 + 10.
    const m = makeLink(spec({ handshake: true, controlPacketsOnLink: true }, [1]));
    m.sendAt(0, 1, SEG);
    m.sim.run();
    expect(m.byId.get(1)!.atMs).toBeCloseTo(20 + 2 * 40 * 8 / 12e3 + 200 + 1 + 10, 9);
  });

  test('a markov or trace link needs the reverse rate', () => {
    const r = linkSpecSchema.safeParse({
      type: 'markov', states: [{ rateBps: 1e6, meanSojournMs: 10 }, { rateBps: 2e6, meanSojournMs: 10 }],
      delivery: { mode: 'tcp', controlPacketsOnLink: true },
    });
    expect(r.success).toBe(false);
    if (!r.success) expect(r.error.issues[0].path).toEqual(['delivery', 'reverseRateBps']);
  });
});

describe('list loss model', () => {
  test('drops the k-th data packet, counting retransmissions, not packets without payload', () => {
    const m = new ListLoss([2, 4]);
    expect([m.lost(), m.lost(false), m.lost(), m.lost(), m.lost(false), m.lost(), m.lost()]).toEqual([false, false, true, false, false, true, false]);
    expect(m.dataPackets).toBe(5);
  });

  test('datagrams: exactly the listed packets fail', () => {
    const l = makeLink({ type: 'constant', rateBps: 1e6, loss: { model: 'list', drop: [2, 4] } });
    for (let i = 0; i < 5; i++) l.sendAt(i, i, 100);
    l.sim.run();
    expect(l.deliveries.filter((d) => !d.ok).map((d) => d.id)).toEqual([1, 3]);
  });

  test('rejects a list that is empty or not of positive integers', () => {
    for (const drop of [[], [0], [1.5], [-2]]) {
      const r = linkSpecSchema.safeParse({ type: 'constant', rateBps: 1e6, loss: { model: 'list', drop } });
      expect(r.success).toBe(false);
      if (!r.success) expect(r.error.issues[0].path.slice(0, 2)).toEqual(['loss', 'drop']);
    }
  });
});

test('same seed, same TCP deliveries under random loss of data and control packets', () => {
  const once = (seed: number) => {
    const l = makeLink({
      type: 'constant', rateBps: 5e6, delayMs: 10, loss: { model: 'bernoulli', p: 0.05 },
      delivery: { mode: 'tcp', controlPacketsOnLink: true, delayedAck: { count: 2, timeoutMs: 40 } },
    }, { seed });
    for (let i = 0; i < 100; i++) l.sendAt(i * 50, i, 8000);
    l.sim.run();
    return JSON.stringify([l.deliveries, l.link.stats()]);
  };
  expect(once(3)).toBe(once(3));
  expect(once(3)).not.toBe(once(4));
});
