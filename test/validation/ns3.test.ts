import { buildPeer, errorStats, gridCells, groups, ns3Available, runGrid, type CellResult } from '../../bench/ns3';

/*
 * splitsim's TCP delivery against ns-3.37's TcpNewReno (bench/peers/ns3/tcp_transfer.cc) over
 * the grid of bench/ns3.ts: 1, 6 and 50 Mbit/s; 10 and 35 ms; 1 kB to 1 MB; delayed ACKs off
 * and on; a clean link and four drop lists per cell drawn at 1 % loss, the same packets
 * dropped in both simulators. Needs libns3-dev and g++ (CI installs them where it can).
 */
const avail = ns3Available();
if (!avail.ok) console.log(`skipping the ns-3 comparison: ${avail.reason}`);

(avail.ok ? describe : describe.skip)('TCP delivery against ns-3.37', () => {
  let rows: CellResult[] = [];
  beforeAll(async () => { rows = await runGrid(buildPeer(), gridCells({ lossP: 0.01, draws: 4 })); }, 300000);

  const bounds = { '0': { median: 0.005, worst: 0.03 }, '1%': { median: 0.03, worst: 0.10 } } as const;

  test.each([['0', false], ['0', true], ['1%', false], ['1%', true]] as const)('loss %s, delayed ACK %s: median and worst |error| within bounds', (loss, delayedAck) => {
    const g = groups(rows).find((x) => x.loss === loss && x.delayedAck === delayedAck)!;
    const s = errorStats(g.rows);
    console.log(`ns-3 grid, loss ${loss}, delayed ACK ${delayedAck ? 'on' : 'off'}: ${s.cells} cells, median |error| ${(s.medianAbs * 100).toFixed(2)} %, worst ${(s.worstAbs * 100).toFixed(2)} %`);
    expect(s.cells).toBe(loss === '0' ? 24 : 96);
    expect(s.medianAbs).toBeLessThanOrEqual(bounds[loss].median);
    expect(s.worstAbs).toBeLessThanOrEqual(bounds[loss].worst);
  });

  test('the lossy cells do lose packets, and both simulators deliver every payload', () => {
    const lossy = rows.filter((r) => r.drop.length > 0);
    expect(lossy.length).toBeGreaterThan(80);
    for (const r of rows) {
      expect(r.ns3Ms).toBeGreaterThan(0);
      expect(r.splitsimMs).toBeGreaterThan(0);
    }
  });
});
