import { spawn, type ChildProcess } from 'child_process';
import * as http from 'http';
import * as net from 'net';
import * as path from 'path';
import * as readline from 'readline';
import { loadFashionMnistTest } from '../../src/data/fashion';
import { encodeRequest } from '../../src/live/protocol';
import { BIN, cliHarness, ROOT } from '../helpers/cli';

const SCENARIO = path.join(ROOT, 'test', 'live', 'fixtures', 'live-tiny.yaml');
const RAW = 'teacher/input/raw';
const QUANT = 'teacher/stage2/quant[bits=4;granularity=channel;entropy=rans]';

interface Served { proc: ChildProcess; url: string; port: number; log: string[]; exit: Promise<number | null> }

/** Starts `splitsim serve` and waits for its ready line. */
async function serve(extra: string[]): Promise<Served> {
  const proc = spawn(process.execPath, [BIN, 'serve', '--scenario', SCENARIO, '--pipeline', RAW, '--pipeline', QUANT, ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  const log: string[] = [];
  readline.createInterface({ input: proc.stderr! }).on('line', (l) => log.push(l));
  const exit = new Promise<number | null>((r) => proc.on('exit', (c) => r(c)));
  const line = await new Promise<string>((resolve, reject) => {
    readline.createInterface({ input: proc.stdout! }).once('line', resolve);
    void exit.then((c) => reject(new Error(`serve exited ${c}: ${log.join('\n')}`)));
  });
  const ready = JSON.parse(line) as { url: string; port: number; pipelines: string[] };
  expect(ready.pipelines).toEqual([RAW, QUANT]);
  return { proc, url: ready.url, port: ready.port, log, exit };
}

interface Reply { status: number; body: Record<string, unknown> }

function post(url: string, body: Buffer, headers: Record<string, string | number> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const u = new URL('/v1/infer', url);
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', agent: false,
      headers: { 'content-type': 'application/octet-stream', 'content-length': body.length, ...headers } }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (b: Buffer) => parts.push(b));
      res.on('end', () => {
        const text = Buffer.concat(parts).toString('utf8');
        resolve({ status: res.statusCode!, body: text ? JSON.parse(text) : {} });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

function stats(url: string): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    http.get(`${url}/v1/stats`, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (b: Buffer) => parts.push(b));
      res.on('end', () => resolve(JSON.parse(Buffer.concat(parts).toString('utf8'))));
    }).on('error', reject);
  });
}

/** Writes raw bytes on a fresh connection and returns everything the server sends back. */
function rawExchange(port: number, chunks: Buffer[], opts: { destroyAfterMs?: number; waitMs?: number } = {}): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    s.on('data', (b) => { got += b.toString('latin1'); });
    s.on('close', () => resolve(got));
    s.on('error', () => undefined);
    s.on('connect', () => {
      for (const c of chunks) s.write(c);
      if (opts.destroyAfterMs !== undefined) setTimeout(() => s.destroy(), opts.destroyAfterMs);
      else setTimeout(() => s.end(), opts.waitMs ?? 2000);
    });
  });
}

const data = loadFashionMnistTest();
const image = (k: number) => data.images.subarray(k * 784, (k + 1) * 784);
const good = (k: number) => encodeRequest(0, k, image(k));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const { maybe } = cliHarness('serve', 'src/live/worker.js');

maybe('splitsim serve: malformed requests get a 4xx, and good ones keep being served', () => {
  let srv: Served;
  beforeAll(async () => { srv = await serve(['--max-payload-bytes', '100000']); }, 120000);
  afterAll(async () => { srv.proc.kill('SIGTERM'); await srv.exit; });

  async function stillServes(): Promise<void> {
    const r = await post(srv.url, good(7));
    expect(r.status).toBe(200);
    expect([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]).toContain(r.body.class);
    expect(r.body.sample).toBe(7);
    expect(r.body.batch).toBe(1);
  }

  test('a good request is classified, with the server timings', async () => {
    let correct = 0;
    for (let k = 0; k < 20; k++) {
      const r = await post(srv.url, good(k));
      expect(r.status).toBe(200);
      expect(r.body.pipeline).toBe(RAW);
      const b = r.body as { receivedMs: number; startMs: number; endMs: number; score: number };
      expect(b.receivedMs).toBeLessThanOrEqual(b.startMs);
      expect(b.startMs).toBeLessThanOrEqual(b.endMs);
      expect(b.score).toBeGreaterThan(0.1);
      if (r.body.class === data.labels[k]) correct++;
    }
    expect(correct).toBeGreaterThanOrEqual(16); // the teacher is ~93 % right
  });

  test.each([
    ['garbage', Buffer.from('not a splitsim request at all'), 400, 'bad_magic'],
    ['truncated', good(1).subarray(0, 300), 400, 'truncated'],
    ['wrong version', (() => { const b = Buffer.from(good(1)); b[4] = 9; return b; })(), 400, 'bad_version'],
    ['unknown pipeline', encodeRequest(5, 1, image(1)), 400, 'bad_pipeline'],
    ['undecodable raw image', encodeRequest(0, 1, Buffer.alloc(100)), 422, 'undecodable'],
    ['undecodable tensor', encodeRequest(1, 1, Buffer.from([4, 200, 200, 200, 200, 1, 2, 3])), 422, 'undecodable'],
    ['a shape header of 2^35 elements', encodeRequest(1, 1, Buffer.from([3, 0xff, 0xff, 0x7f, 0xff, 0xff, 0x7f, 0x08])), 422, 'undecodable'],
  ])('%s', async (_what, body, status, error) => {
    const r = await post(srv.url, body);
    expect(r.status).toBe(status);
    expect(r.body.error).toBe(error);
    // The log line may come a moment after the reply.
    for (let t = 0; t < 50 && !srv.log.some((l) => l.includes(String(error))); t++) await sleep(20);
    expect(srv.log.some((l) => l.includes(String(error)))).toBe(true);
    await stillServes();
  });

  test('an empty body, a wrong content type and an unknown route get 4xx', async () => {
    expect((await post(srv.url, Buffer.alloc(0))).status).toBe(400);
    expect((await post(srv.url, good(1), { 'content-type': 'application/json' })).status).toBe(415);
    const r = await new Promise<number>((resolve) => http.get(`${srv.url}/nope`, (res) => { res.resume(); resolve(res.statusCode!); }));
    expect(r).toBe(404);
    await stillServes();
  });

  test('an oversized request is refused from its Content-Length, before its body is sent', async () => {
    const head = Buffer.from(`POST /v1/infer HTTP/1.1\r\nhost: x\r\ncontent-type: application/octet-stream\r\ncontent-length: 50000000\r\n\r\n`);
    // Only the head and 1 kB of a 50 MB body are ever sent; the 413 comes anyway.
    const got = await rawExchange(srv.port, [head, Buffer.alloc(1000)], { waitMs: 3000 });
    expect(got.startsWith('HTTP/1.1 413')).toBe(true);
    await stillServes();
  });

  test('a client that disconnects mid-request frees its slot', async () => {
    const body = good(2);
    const head = Buffer.from(`POST /v1/infer HTTP/1.1\r\nhost: x\r\ncontent-type: application/octet-stream\r\ncontent-length: ${body.length}\r\n\r\n`);
    await rawExchange(srv.port, [head, body.subarray(0, 50)], { destroyAfterMs: 100 });
    await sleep(200);
    const s = await stats(srv.url);
    expect(s.queued).toBe(0);
    expect(s.inService).toBe(0);
    await stillServes();
  });

  test('a request whose body never completes gets 408 and does not hold the server', async () => {
    // Covered with a short --request-timeout-ms in the batching server below; here the server
    // keeps answering while such a connection is open.
    const body = good(3);
    const head = Buffer.from(`POST /v1/infer HTTP/1.1\r\nhost: x\r\ncontent-type: application/octet-stream\r\ncontent-length: ${body.length}\r\n\r\n`);
    const pending = rawExchange(srv.port, [head, body.subarray(0, 10)], { destroyAfterMs: 1500 });
    await stillServes();
    await pending;
  });
});

maybe('splitsim serve: batching, queued clients that leave, slow bodies, SIGTERM', () => {
  test('dynamic batching, aborts while queued, 408, and SIGTERM finishing the requests in flight', async () => {
    const srv = await serve(['--max-batch', '4', '--max-wait-ms', '1500', '--request-timeout-ms', '1000']);
    try {
      // Four requests within the wait: one batch of 4, at once (the batch is full).
      const t0 = Date.now();
      const four = await Promise.all([0, 1, 2, 3].map((k) => post(srv.url, good(k))));
      expect(four.map((r) => r.status)).toEqual([200, 200, 200, 200]);
      expect(four.map((r) => r.body.batch)).toEqual([4, 4, 4, 4]);
      expect(Date.now() - t0).toBeLessThan(1400);
      // Two: a batch of 2 once the oldest has waited 1.5 s.
      const t1 = Date.now();
      const two = await Promise.all([4, 5].map((k) => post(srv.url, good(k))));
      expect(two.map((r) => r.body.batch)).toEqual([2, 2]);
      expect(Date.now() - t1).toBeGreaterThanOrEqual(1400);

      // A client that leaves while its request waits in the queue: dropped from it.
      const body = good(6);
      const head = Buffer.from(`POST /v1/infer HTTP/1.1\r\nhost: x\r\ncontent-type: application/octet-stream\r\ncontent-length: ${body.length}\r\n\r\n`);
      await rawExchange(srv.port, [head, body], { destroyAfterMs: 300 });
      await sleep(100);
      let s = await stats(srv.url);
      expect(s.aborted).toBe(1);
      expect(s.queued).toBe(0);

      // A body that never completes: 408 after the request timeout.
      const slow = await rawExchange(srv.port, [head, body.subarray(0, 20)], { waitMs: 2500 });
      expect(slow.startsWith('HTTP/1.1 408')).toBe(true);

      // SIGTERM while three requests wait for their batch: all three are answered, exit 0.
      const inFlight = Promise.all([7, 8, 9].map((k) => post(srv.url, good(k))));
      await sleep(300);
      s = await stats(srv.url);
      expect(s.queued).toBe(3);
      srv.proc.kill('SIGTERM');
      const replies = await inFlight;
      expect(replies.map((r) => r.status)).toEqual([200, 200, 200]);
      expect(replies.map((r) => r.body.batch)).toEqual([3, 3, 3]);
      expect(await srv.exit).toBe(0);
      expect(srv.log.some((l) => l.includes('SIGTERM'))).toBe(true);
    } finally {
      srv.proc.kill('SIGKILL');
    }
  }, 60000);
});

maybe('splitsim serve --cpu-share: a worker with a share of a core', () => {
  test('holds each batch for its decode and tail time divided by the share, and still answers right', async () => {
    const share = 0.25;
    const srv = await serve(['--cpu-share', String(share)]);
    try {
      let work = 0;
      const before = await stats(srv.url);
      for (let k = 0; k < 30; k++) {
        const r = await post(srv.url, good(k));
        expect(r.status).toBe(200);
        const b = r.body as { class: number; startMs: number; endMs: number; decodeMs: number; tailMs: number };
        expect(b.class).toBe((await referenceClass(k)));
        // Occupied for (decode + tail) / share, measured from the batch start, within timer slack.
        expect(b.endMs - b.startMs).toBeGreaterThanOrEqual(((b.decodeMs + b.tailMs) / share) * 0.95);
        work += b.decodeMs + b.tailMs;
      }
      const after = await stats(srv.url);
      const busy = after.busyMs - before.busyMs;
      expect(busy / work).toBeGreaterThan(0.95 / share);
      expect(busy / work).toBeLessThan(1.5 / share);
    } finally {
      srv.proc.kill('SIGTERM');
      await srv.exit;
    }
  }, 120000);

  test('a share outside (0, 1] exits 2 naming the flag', async () => {
    for (const bad of ['0', '1.5', 'x']) {
      const proc = spawn(process.execPath, [BIN, 'serve', '--scenario', SCENARIO, '--cpu-share', bad], { stdio: ['ignore', 'pipe', 'pipe'] });
      let err = '';
      proc.stderr!.on('data', (b: Buffer) => { err += b.toString(); });
      const code = await new Promise<number | null>((r) => proc.on('exit', (c) => r(c)));
      expect(code).toBe(2);
      expect(err).toMatch(/--cpu-share: expected a number above 0 and at most 1/);
    }
  }, 60000);
});

/** The class a full-speed server gives image k (the first one asked is started once). */
let reference: Promise<Served> | undefined;
async function referenceClass(k: number): Promise<number> {
  reference ??= serve([]);
  const srv = await reference;
  return (await post(srv.url, good(k))).body.class as number;
}
afterAll(async () => {
  if (reference) {
    const srv = await reference;
    srv.proc.kill('SIGTERM');
    await srv.exit;
  }
});
