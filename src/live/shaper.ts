/**
 * A user-space link shaper for live runs: a loopback TCP proxy between the devices and the
 * tail server that holds the real bytes of each direction for as long as the scenario's link
 * would take to carry them. The delivery times come from the simulator's own link code: the
 * scenario's uplink and downlink are built with createDeviceLinks (same specs, same random
 * streams as `simulate`: root 'scenario' → 'uplink' / 'downlink') on a Simulator whose clock
 * is driven by real time. Each chunk of bytes the proxy reads is a payload sent on that
 * device's link at the moment it was read (packetised at the link's MTU, queued behind the
 * device's other traffic, rate, Markov state or trace opportunity, delay, jitter, loss, ARQ
 * or TCP as the spec says); it is written on when the model delivers it, in order per
 * connection.
 *
 * Device d connects to port ports[d]. A payload the model gives up on (a lost datagram, ARQ
 * or TCP out of retries) fails its request: the device gets a made-up 502 reply whose
 * x-splitsim-dropped header says which direction lost it (HTTP/1.1 alternates request and
 * reply on a connection, so a reply not yet begun can be replaced), and both connections
 * are closed.
 */
import * as net from 'net';
import type { Scenario } from '../config/scenario';
import { Rng } from '../engine/rng';
import { Simulator } from '../engine/simulator';
import { createDeviceLinks, type Link } from '../network/link';
import { DROPPED_HEADER } from './protocol';

/** Options of a shaper. */
export interface ShaperOptions {
  /** The scenario whose uplink, downlink, seed and device count to use (trace paths absolute). */
  scenario: Scenario;
  /** Where the tail server listens. */
  target: { host: string; port: number };
  /** Overrides the scenario seed (the links' random streams). */
  seed?: number;
  /** Devices (ports); default the scenario's count. */
  devices?: number;
  host?: string;
  log?: (msg: string) => void;
}

/** What a shaper has done. */
export interface ShaperStats {
  connections: number;
  chunks: { uplink: number; downlink: number };
  bytes: { uplink: number; downlink: number };
  failed: { uplink: number; downlink: number };
  /** Real time of each write minus the model's delivery time, ms (timer granularity, load). */
  lateness: { count: number; meanMs: number; maxMs: number; over1Ms: number };
}

interface Chunk {
  conn: Conn;
  up: boolean;
  buf: Buffer;
  /** 0 in the model, 1 delivered, 2 failed. */
  state: number;
}

interface Conn {
  device: number;
  client: net.Socket;
  upstream: net.Socket;
  pendingUp: Chunk[];
  pendingDown: Chunk[];
  /** Reply bytes were written since the request's last bytes were (a reply has begun). */
  replyStarted: boolean;
  clientEnded: boolean;
  upstreamEnded: boolean;
  dead: boolean;
}

function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

/** The shaper: start() listens on one port per device. */
export class LinkShaper {
  readonly ports: number[] = [];
  private readonly sim = new Simulator();
  private readonly uplinks: Link[];
  private readonly downlinks: Link[];
  private readonly chunks = new Map<number, Chunk>();
  private readonly servers: net.Server[] = [];
  private readonly conns = new Set<Conn>();
  private nextId = 0;
  private originMs = epochMs();
  private traffic = false;
  private timer: NodeJS.Timeout | undefined;
  private timerAtMs = Infinity;
  private readonly st: ShaperStats = {
    connections: 0, chunks: { uplink: 0, downlink: 0 }, bytes: { uplink: 0, downlink: 0 }, failed: { uplink: 0, downlink: 0 },
    lateness: { count: 0, meanMs: 0, maxMs: 0, over1Ms: 0 },
  };
  private latenessSum = 0;
  private readonly log: (msg: string) => void;
  private readonly nDev: number;

  private constructor(private readonly opts: ShaperOptions) {
    const s = opts.scenario;
    this.log = opts.log ?? (() => undefined);
    this.nDev = opts.devices ?? s.devices.count;
    const root = new Rng(opts.seed ?? s.seed, 'scenario');
    const onDelivered = (id: number, ok: boolean) => this.delivered(id, ok);
    this.uplinks = createDeviceLinks(s.uplink, this.nDev, { sim: this.sim, rng: root.fork('uplink'), name: 'uplink', onDelivered });
    this.downlinks = createDeviceLinks(s.downlink, this.nDev, { sim: this.sim, rng: root.fork('downlink'), name: 'downlink', onDelivered });
  }

  /** Builds the links and listens on a free port (or `basePort + d`) for each device. */
  static async start(opts: ShaperOptions, basePort = 0): Promise<LinkShaper> {
    const sh = new LinkShaper(opts);
    try {
      for (let d = 0; d < sh.nDev; d++) {
        const server = net.createServer({ allowHalfOpen: true }, (c) => sh.accept(d, c));
        sh.servers.push(server);
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(basePort > 0 ? basePort + d : 0, opts.host ?? '127.0.0.1', () => resolve());
        });
        sh.ports.push((server.address() as net.AddressInfo).port);
      }
    } catch (e) {
      await sh.close();
      throw e;
    }
    return sh;
  }

  /** Sets the real time (epoch ms) that is time 0 of the links (a trace's start); before any traffic. */
  setOrigin(epoch: number): void {
    if (this.traffic) throw new Error('the link clock cannot be moved once traffic has flowed');
    this.originMs = epoch;
  }

  stats(): ShaperStats {
    const l = this.st.lateness;
    const st = this.st;
    return {
      connections: st.connections, chunks: { ...st.chunks }, bytes: { ...st.bytes }, failed: { ...st.failed },
      lateness: { ...l, meanMs: l.count > 0 ? this.latenessSum / l.count : 0 },
    };
  }

  /** Stops listening and closes every connection. */
  async close(): Promise<void> {
    clearTimeout(this.timer);
    for (const c of this.conns) this.kill(c);
    await Promise.all(this.servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }

  private simNow(): number {
    return epochMs() - this.originMs;
  }

  /** Runs the link model up to now (at least to `atLeast`, the event a timer was set for). */
  private advance(atLeast = -Infinity): void {
    const t = Math.max(this.simNow(), atLeast);
    if (t > this.sim.nowMs) this.sim.run(t);
  }

  private arm(): void {
    const next = this.sim.nextEventMs;
    if (next === Infinity || next >= this.timerAtMs) return;
    clearTimeout(this.timer);
    this.timerAtMs = next;
    this.timer = setTimeout(() => {
      const at = this.timerAtMs;
      this.timerAtMs = Infinity;
      this.timer = undefined;
      this.advance(at);
      this.arm();
    }, Math.max(0, next - this.simNow()));
  }

  private accept(device: number, client: net.Socket): void {
    this.st.connections++;
    client.setNoDelay(true);
    const upstream = net.connect({ host: this.opts.target.host, port: this.opts.target.port, allowHalfOpen: true });
    upstream.setNoDelay(true);
    const conn: Conn = { device, client, upstream, pendingUp: [], pendingDown: [], replyStarted: false, clientEnded: false, upstreamEnded: false, dead: false };
    this.conns.add(conn);
    client.on('data', (b: Buffer) => this.send(conn, true, b));
    upstream.on('data', (b: Buffer) => this.send(conn, false, b));
    client.on('end', () => { conn.clientEnded = true; this.flush(conn, true); });
    upstream.on('end', () => { conn.upstreamEnded = true; this.flush(conn, false); });
    const gone = (who: string) => (e?: Error) => {
      if (e) this.log(`device ${device}: ${who} connection error: ${e.message}`);
      this.kill(conn);
    };
    client.on('error', gone('device'));
    upstream.on('error', gone('server'));
    client.on('close', () => { if (!conn.clientEnded || conn.pendingUp.length === 0) this.killLater(conn); });
    upstream.on('close', () => { if (conn.pendingDown.length === 0) this.killLater(conn); });
  }

  /** Closes a connection pair once what the model still holds for it is delivered. */
  private killLater(conn: Conn): void {
    if (conn.pendingUp.length === 0 && conn.pendingDown.length === 0) this.kill(conn);
  }

  private kill(conn: Conn): void {
    if (conn.dead) return;
    conn.dead = true;
    conn.pendingUp.length = 0;
    conn.pendingDown.length = 0;
    conn.client.destroy();
    conn.upstream.destroy();
    this.conns.delete(conn);
  }

  /** A chunk read from one side enters that device's link now. */
  private send(conn: Conn, up: boolean, buf: Buffer): void {
    if (conn.dead) return;
    this.traffic = true;
    this.advance();
    const id = this.nextId++;
    const chunk: Chunk = { conn, up, buf, state: 0 };
    this.chunks.set(id, chunk);
    (up ? conn.pendingUp : conn.pendingDown).push(chunk);
    const dir = up ? 'uplink' : 'downlink';
    this.st.chunks[dir]++;
    this.st.bytes[dir] += buf.length;
    (up ? this.uplinks : this.downlinks)[conn.device].send(id, buf.length, conn.device);
    this.arm();
  }

  /** The link model's verdict on a chunk (called at its delivery time in the model). */
  private delivered(id: number, ok: boolean): void {
    const chunk = this.chunks.get(id);
    if (!chunk) return;
    this.chunks.delete(id);
    chunk.state = ok ? 1 : 2;
    const late = this.simNow() - this.sim.nowMs;
    const l = this.st.lateness;
    l.count++;
    this.latenessSum += late;
    if (late > l.maxMs) l.maxMs = late;
    if (late > 1) l.over1Ms++;
    this.flush(chunk.conn, chunk.up);
  }

  /** Writes a direction's delivered chunks on, in order; handles failures and ends. */
  private flush(conn: Conn, up: boolean): void {
    if (conn.dead) return;
    const q = up ? conn.pendingUp : conn.pendingDown;
    while (q.length > 0 && q[0].state !== 0) {
      const c = q.shift()!;
      if (c.state === 2) {
        this.fail(conn, up);
        return;
      }
      if (up) {
        conn.upstream.write(c.buf);
        conn.replyStarted = false;
      } else {
        conn.client.write(c.buf);
        conn.replyStarted = true;
      }
    }
    if (q.length > 0) return;
    if (up && conn.clientEnded) conn.upstream.end();
    if (!up && conn.upstreamEnded) conn.client.end();
    if (conn.client.destroyed || conn.upstream.destroyed) this.killLater(conn);
  }

  private fail(conn: Conn, up: boolean): void {
    const dir = up ? 'uplink' : 'downlink';
    this.st.failed[dir]++;
    this.log(`device ${conn.device}: the ${dir} lost a payload; failing the request`);
    if (!conn.replyStarted) {
      const body = JSON.stringify({ error: 'dropped', message: `the ${dir} model lost the payload` });
      conn.client.end(
        `HTTP/1.1 502 Bad Gateway\r\ncontent-type: application/json\r\n${DROPPED_HEADER}: ${dir}\r\nconnection: close\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
      conn.upstream.destroy();
      conn.dead = true;
      conn.pendingUp.length = 0;
      conn.pendingDown.length = 0;
      this.conns.delete(conn);
      return;
    }
    this.kill(conn);
  }
}
