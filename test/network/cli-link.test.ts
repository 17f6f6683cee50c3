import * as path from 'path';
import yargs from 'yargs';
import linkCommand, { linkSpecFromArgs, sendOnce } from '../../src/cli/link';
import { UserError } from '../../src/util/errors';
import { cliHarness } from '../helpers/cli';
import { tempFile } from './helpers';

async function runCli(args: string[]): Promise<string> {
  let out = '';
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => { out += String(s); return true; });
  try {
    await yargs(args).command(linkCommand).strict().fail((msg, err) => { throw err ?? new UserError(msg); }).parseAsync();
  } finally {
    spy.mockRestore();
  }
  return out;
}

describe('splitsim link', () => {
  const one = tempFile('one.up', '1\n');

  test('--trace --json prints the statistics keys', async () => {
    const j = JSON.parse(await runCli(['link', '--trace', one, '--json']));
    expect(j).toMatchObject({ durationS: 0.001, meanMbps: 12, p10Mbps: 12, p50Mbps: 12, p90Mbps: 12, emptyWindowFraction: 0 });
  });

  test('--send --at prints deliveredAtMs with default UDP headers, or --header-bytes', async () => {
    // 3000 B + 28 B headers: 1500, 1500, 84 B packets -> opportunities at 11, 12, 13 after a send at 10.5.
    const j = JSON.parse(await runCli(['link', '--trace', one, '--send', '3000', '--at', '10.5', '--json']));
    expect(j).toMatchObject({ deliveredAtMs: 13, packets: 3, headerBytesPerPacket: 28, ok: true });
    const k = JSON.parse(await runCli(['link', '--trace', one, '--send', '3000', '--at', '10.5', '--header-bytes', '0', '--json']));
    expect(k).toMatchObject({ deliveredAtMs: 12, packets: 2 });
    expect(await runCli(['link', '--trace', one, '--send', '3000'])).toMatch(/delivered at\s+3 ms/);
  });

  test('--drop loses the listed data packets', async () => {
    // 3000 B in three datagrams at opportunities 11, 12, 13: losing the second fails the payload.
    const j = JSON.parse(await runCli(['link', '--trace', one, '--send', '3000', '--at', '10.5', '--drop', '2', '--json']));
    expect(j).toMatchObject({ deliveredAtMs: null, ok: false, packets: 3 });
    expect(JSON.parse(await runCli(['link', '--trace', one, '--send', '3000', '--at', '10.5', '--drop', '4,9', '--json']))).toMatchObject({ deliveredAtMs: 13, ok: true });
    for (const bad of ['0', '2,x', '', '1.5']) {
      await expect(runCli(['link', '--trace', one, '--send', '3000', '--drop', bad])).rejects.toThrow(/--drop: expected data packet numbers/);
    }
  });

  test('--drop on a TCP link: the segment is resent after the timeout', () => {
    const scen = tempFile('tcp.yaml', [
      'uplink: { type: constant, rateBps: 12000000, delayMs: 10, delivery: { mode: tcp, handshake: false } }',
      'downlink: { type: constant, rateBps: 1000000 }',
    ].join('\n'));
    // One segment (1 ms on the link), lost, resent when the 1 s initial RTO runs out: 1000 + 1 + 10.
    const { spec } = linkSpecFromArgs({ scenario: scen, drop: '1' });
    expect(sendOnce(spec, 1460, 0)).toMatchObject({ ok: true, deliveredAtMs: 1011, retransmissions: 1 });
  });

  test('a bad trace is a UserError naming the file and line', async () => {
    const bad = tempFile('bad.up', '1\n2\nx\n');
    await expect(runCli(['link', '--trace', bad])).rejects.toThrow(new UserError(`${bad}:3: expected a non-negative integer number of milliseconds, found text that is not a number (1 characters)`));
    await expect(runCli(['link', '--trace', tempFile('zero.up', '0\n')])).rejects.toThrow(/zero\.up:1: last timestamp is 0/);
  });

  test('--scenario takes the link (and its default headers) from a scenario file', () => {
    const dir = path.dirname(one);
    const scen = tempFile('s.yaml', [
      'uplink: { type: trace, file: ' + path.basename(one) + ', startOffsetMs: 0, delivery: { mode: tcp, handshake: false } }',
      'downlink: { type: constant, rateBps: 1000000 }',
      'whatever: the rest of a scenario is not checked here',
    ].join('\n'));
    // Move the scenario next to the trace so the relative path resolves against its folder.
    const moved = path.join(dir, 's.yaml');
    require('fs').renameSync(scen, moved);
    const { spec } = linkSpecFromArgs({ scenario: moved });
    const r = sendOnce(spec, 1460, 0);
    expect(r.headerBytesPerPacket).toBe(40);
    expect(r.deliveredAtMs).toBe(1);
    const down = linkSpecFromArgs({ scenario: moved, direction: 'downlink' });
    expect(sendOnce(down.spec, 972, 0).deliveredAtMs).toBeCloseTo(8, 12);
    expect(() => linkSpecFromArgs({})).toThrow(UserError);
  });
});

describe('splitsim link (the real command line)', () => {
  const { maybe, run } = cliHarness('link', 'src/cli/link.js');
  maybe('--drop', () => {
    test('loses the listed packets; a bad list exits with code 2 and names the option', () => {
      const one = tempFile('one.up', '1\n');
      const ok = run(['link', '--trace', one, '--send', '3000', '--at', '10.5', '--drop', '3', '--json']);
      expect(ok.code).toBe(0);
      expect(JSON.parse(ok.stdout)).toMatchObject({ ok: false, deliveredAtMs: null });
      const bad = run(['link', '--trace', one, '--send', '3000', '--drop', '0']);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/--drop: expected data packet numbers/);
    });
  });
});
