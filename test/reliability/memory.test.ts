import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { BIN, cliHarness } from '../helpers/cli';

/**
 * A 10-million-request declared run stays under 1 GB of memory (requests are retired into a
 * streaming log as they leave), shows progress on stderr when not on a terminal, and exits 0.
 */
const { maybe, work } = cliHarness('memory', 'src/cli/index.js');

maybe('long runs', () => {
  test('10M requests: peak RSS under 1 GB, progress shown, exit 0', () => {
    fs.writeFileSync(path.join(work, 'big.yaml'), `name: big
seed: 1
duration: { requests: 10000000 }
devices: { count: 4, arrival: { type: poisson, ratePerS: 10 } }
uplink: { type: constant, rateBps: 10000000, delayMs: 10 }
downlink: { type: constant, rateBps: 10000000, delayMs: 10 }
edge: { workers: 2 }
pipelines:
  - { name: a, deviceMs: { type: exponential, mean: 5 }, payloadBytes: 2000, edgeMs: { type: exponential, mean: 10 }, resultBytes: 10 }
`);
    // The child reports its own peak resident set size (KiB) when it exits.
    const rss = path.join(work, 'rss.js');
    fs.writeFileSync(rss, "process.on('exit', () => process.stderr.write(`maxrss ${process.resourceUsage().maxRSS}\\n`));\n");
    const r = spawnSync(process.execPath, ['-r', rss, BIN, 'simulate', '--scenario', './big.yaml', '--out', 'big'], { cwd: work, encoding: 'utf8' });
    expect(r.status).toBe(0);
    const kib = Number(/maxrss (\d+)/.exec(r.stderr)![1]);
    expect(kib).toBeLessThan(1024 * 1024);
    expect(r.stderr).toMatch(/simulating 1 pipeline\(s\) \[#+\.*\] \d+\.\d% \d+s eta /);
    const row = fs.readFileSync(path.join(work, 'big', 'summary.csv'), 'utf8').split('\n')[1].split(',');
    expect(row[15]).toBe('10000000'); // requests
  }, 120000);
});
