import * as http from 'http';
import * as net from 'net';
import { parseScenario } from '../../src/config/scenario';
import { Rng } from '../../src/engine/rng';
import { Simulator } from '../../src/engine/simulator';
import { createDeviceLinks } from '../../src/network/link';
import { LinkShaper } from '../../src/live/shaper';

function scenario(uplink: object, downlink: object) {
  return parseScenario({
    name: 'shaper-test', seed: 3, duration: { requests: 1 },
    devices: { count: 2, arrival: { type: 'periodic', fps: 1 } },
    uplink, downlink, pipelines: ['teacher/input/raw'],
  }, 'shaper-test.yaml');
}

/** When the link model delivers `bytes` sent at `atMs` on a fresh link of device d. */
function modelDelivery(s: ReturnType<typeof scenario>, dir: 'uplink' | 'downlink', d: number, bytes: number, atMs: number): number {
  const sim = new Simulator();
  let at = NaN;
  const links = createDeviceLinks(s[dir], 2, { sim, rng: new Rng(s.seed, 'scenario').fork(dir), name: dir, onDelivered: () => { at = sim.nowMs; } });
  sim.run(atMs);
  links[d].send(0, bytes, d);
  sim.run();
  return at - atMs;
}

const now = () => performance.timeOrigin + performance.now();

describe('link shaper', () => {
  let server: http.Server;
  let port: number;
  let receivedAt: number[] = [];
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (b: Buffer) => parts.push(b));
      req.on('end', () => {
        receivedAt.push(now());
        res.end(Buffer.alloc(Number(req.headers['x-reply-bytes'] ?? 10)));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as net.AddressInfo).port;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  function post(p: number, body: Buffer, replyBytes: number): Promise<{ status: number; headers: http.IncomingHttpHeaders; sentAt: number; endAt: number }> {
    return new Promise((resolve, reject) => {
      const sentAt = now();
      const req = http.request({ host: '127.0.0.1', port: p, method: 'POST', path: '/', agent: false, headers: { 'content-length': body.length, 'x-reply-bytes': replyBytes } }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, sentAt, endAt: now() }));
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  test('holds each direction as long as the link model says, per device', async () => {
    // Slow enough that the model's time (~180 and ~90 ms) dwarfs loopback and timer granularity;
    // the 40-ms tolerance only absorbs a busy machine's scheduling delays.
    const s = scenario(
      { type: 'constant', rateBps: 1_000_000, delayMs: 20 },
      { type: 'constant', rateBps: 500_000, delayMs: 10 },
    );
    const sh = await LinkShaper.start({ scenario: s, target: { host: '127.0.0.1', port } });
    try {
      expect(sh.ports).toHaveLength(2);
      // A first request on device 0's link warms the HTTP code paths of this process up.
      await post(sh.ports[0], Buffer.alloc(100), 10);
      const st0 = sh.stats();
      receivedAt = [];
      const r = await post(sh.ports[1], Buffer.alloc(20000), 5000);
      const s1 = sh.stats();
      const st = { ...s1, chunks: { uplink: s1.chunks.uplink - st0.chunks.uplink, downlink: s1.chunks.downlink - st0.chunks.downlink }, bytes: { uplink: s1.bytes.uplink - st0.bytes.uplink, downlink: s1.bytes.downlink - st0.bytes.downlink } };
      expect(r.status).toBe(200);
      expect(st.chunks.uplink).toBeGreaterThanOrEqual(1);
      // The chunks the shaper read are what the model carried: compare with the model's time
      // for the same bytes (one chunk per direction when the stack delivers them whole).
      const upMs = receivedAt[0] - r.sentAt;
      const expectUp = modelDelivery(s, 'uplink', 1, st.bytes.uplink, 0);
      expect(expectUp).toBeGreaterThan(180); // 20 kB at 1 Mbit/s + 20 ms
      expect(Math.abs(upMs - expectUp)).toBeLessThan(40);
      const downMs = r.endAt - receivedAt[0];
      const expectDown = modelDelivery(s, 'downlink', 1, st.bytes.downlink, 0);
      expect(expectDown).toBeGreaterThan(90);
      expect(Math.abs(downMs - expectDown)).toBeLessThan(40);
      expect(s1.lateness.count).toBe(s1.chunks.uplink + s1.chunks.downlink);
    } finally {
      await sh.close();
    }
  });

  test('a payload the datagram link loses fails its request with a 502 naming the direction', async () => {
    const s = scenario(
      { type: 'constant', rateBps: 10_000_000, delayMs: 5, loss: { model: 'list', drop: [1] } },
      { type: 'constant', rateBps: 10_000_000, delayMs: 5 },
    );
    const sh = await LinkShaper.start({ scenario: s, target: { host: '127.0.0.1', port } });
    try {
      receivedAt = [];
      const r = await post(sh.ports[0], Buffer.alloc(100), 10);
      expect(r.status).toBe(502);
      expect(r.headers['x-splitsim-dropped']).toBe('uplink');
      expect(receivedAt).toHaveLength(0);
      expect(sh.stats().failed.uplink).toBe(1);
      // The list names the first data packet only: the next request goes through.
      const ok = await post(sh.ports[0], Buffer.alloc(100), 10);
      expect(ok.status).toBe(200);
    } finally {
      await sh.close();
    }
  });
});
