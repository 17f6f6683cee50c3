import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { writeBareModel, writeLabelledFolder } from '../data/helpers';

/**
 * The Slurm path for real: a one-node Slurm cluster started on this machine
 * (deploy/slurm/local-cluster.sh: munge and the Slurm daemons with a config in a temp folder),
 * the measurement submitted as a 4-task job array with its merge job
 * (deploy/slurm/measure.sh --wait, which uses sbatch --wait), and the merged files compared
 * byte for byte with one unsharded `splitsim measure`. Skipped, saying why, where Slurm is not
 * installed or cannot start (CI installs slurm-wlm and munge, tolerating failure).
 */
const ROOT = path.resolve(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'splitsim.js');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'splitsim-slurm-'));
const cluster = path.join(work, 'cluster');

function why(): string | undefined {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'src', 'cli', 'merge.js'))) return 'dist/ is missing; run `npm run build` (npm test does)';
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return 'the local cluster runs its daemons as root on Linux';
  for (const b of ['sbatch', 'slurmctld', 'slurmd', 'munged', 'sinfo']) {
    if (spawnSync('sh', ['-c', `command -v ${b}`]).status !== 0) return `${b} is not installed (apt-get install slurm-wlm munge)`;
  }
  return undefined;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

let skip = why();
let slurmConf = '';
const sh = (cmd: string, args: string[], env: NodeJS.ProcessEnv = {}) =>
  spawnSync(cmd, args, { cwd: work, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 240000 });

beforeAll(async () => {
  if (skip) return;
  const [a, b] = [await freePort(), await freePort()];
  const r = sh('bash', [path.join(ROOT, 'deploy', 'slurm', 'local-cluster.sh'), 'start', cluster, String(a), String(b)]);
  if (r.status !== 0) {
    skip = `the one-node Slurm cluster did not start (exit ${r.status}): ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ')}`;
    return;
  }
  slurmConf = r.stdout.trim().split('\n').pop()!;
  await writeBareModel(path.join(work, 'bare'), 32, 4);
  await writeLabelledFolder(path.join(work, 'images'), 4, 55);
  fs.writeFileSync(path.join(work, 'byo.yaml'), [
    'name: byo', 'duration: { seconds: 5 }', 'model: ./bare',
    'dataset: { path: ./images, labels: labels.txt, resize: 36, crop: 32, scale: "[-1,1]" }', 'samples: 220',
    'devices: { count: 1, arrival: { type: periodic, fps: 5 }, profile: raspberry-pi-4 }',
    'uplink: { type: constant, rateBps: 5000000 }', 'downlink: { type: constant, rateBps: 5000000 }', 'edge: { profile: t4 }',
    'pipelines:', '  - webp: { quality: [30, 90] }', '  - { split: [conv1_relu, conv3_relu, pool], quant: { bits: [8, 4], entropy: [packed, rans] } }', '',
  ].join('\n'));
}, 120000);

afterAll(() => {
  if (fs.existsSync(cluster)) sh('bash', [path.join(ROOT, 'deploy', 'slurm', 'local-cluster.sh'), 'stop', cluster]);
  fs.rmSync(work, { recursive: true, force: true });
});

test('a 4-task Slurm job array and its merge job write the files of one unsharded run', () => {
  if (skip) {
    console.log(`skipping the Slurm test: ${skip}`);
    return;
  }
  const t0 = Date.now();
  const one = sh(process.execPath, [BIN, 'measure', '--scenario', 'byo.yaml', '--workers', '1', '--out', 'one'], { SPLITSIM_CACHE_DIR: path.join(work, 'c1') });
  expect(one.stderr).toBe('');
  expect(one.status).toBe(0);
  const t1 = Date.now();
  const r = sh('bash', [path.join(ROOT, 'deploy', 'slurm', 'measure.sh'), '-n', '4', '--out', 'slurm', '--wait', '--', '--scenario', path.join(work, 'byo.yaml')], {
    SLURM_CONF: slurmConf, SPLITSIM: `${process.execPath} ${BIN}`, SPLITSIM_CACHE_DIR: path.join(work, 'c2'),
  });
  const t2 = Date.now();
  if (r.status !== 0) console.log(r.stdout, r.stderr, fs.existsSync(path.join(work, 'slurm', 'partials')) ? fs.readdirSync(path.join(work, 'slurm', 'partials')) : []);
  expect(r.status).toBe(0);
  const parts = fs.readdirSync(path.join(work, 'slurm', 'partials')).filter((f) => f.startsWith('measurements.')).sort();
  expect(parts).toEqual([0, 1, 2, 3].map((i) => `measurements.shard-${i}-of-4.json`));
  for (const f of ['measurements.csv', 'measurements.json']) {
    expect(fs.readFileSync(path.join(work, 'slurm', f), 'utf8')).toBe(fs.readFileSync(path.join(work, 'one', f), 'utf8'));
  }
  console.log(`Slurm: unsharded measure ${((t1 - t0) / 1000).toFixed(1)} s; 4-task array + merge job (sbatch --wait) ${((t2 - t1) / 1000).toFixed(1)} s`);
}, 300000);
