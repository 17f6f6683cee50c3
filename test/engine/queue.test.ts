import fc from 'fast-check';
import { EventQueue } from '../../src/engine/queue';
import { Simulator } from '../../src/engine/simulator';

describe('EventQueue', () => {
  test('pops in (time, insertion) order for any interleaving of pushes and pops', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.integer({ min: 0, max: 20 }), fc.constant(-1)), { maxLength: 300 }),
        (ops) => {
          const q = new EventQueue(2); // tiny, so growth is exercised
          const model: Array<{ t: number; seq: number }> = [];
          let seq = 0;
          for (const op of ops) {
            if (op >= 0) {
              q.push(op, 0, seq);
              model.push({ t: op, seq: seq++ });
            } else {
              model.sort((a, b) => a.t - b.t || a.seq - b.seq);
              const want = model.shift();
              expect(q.pop()).toBe(want !== undefined);
              if (want) {
                expect(q.poppedTime).toBe(want.t);
                expect(q.poppedArg).toBe(want.seq);
              }
            }
            expect(q.size).toBe(model.length);
          }
        },
      ),
    );
  });
});

describe('Simulator', () => {
  test('runs handlers in time order, ties FIFO, and stops at untilMs', () => {
    const sim = new Simulator();
    const log: string[] = [];
    const a = sim.register((x) => log.push(`a${x}@${sim.nowMs}`));
    const b = sim.register((x) => {
      log.push(`b${x}@${sim.nowMs}`);
      if (x < 2) sim.schedule(5, b, x + 1);
    });
    sim.schedule(10, a, 1);
    sim.schedule(0, b, 0);
    sim.scheduleAt(10, a, 2);
    sim.run(12);
    // a2 was scheduled before b2 (at t=5), so it runs first at the tie.
    expect(log).toEqual(['b0@0', 'b1@5', 'a1@10', 'a2@10', 'b2@10']);
    expect(sim.nowMs).toBe(12);
    expect(() => sim.scheduleAt(11, a)).toThrow(/before now/);
    expect(() => sim.schedule(-1, a)).toThrow(/negative/);
  });
});
