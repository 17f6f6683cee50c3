import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/** Project root and the real `splitsim` binary (runs the compiled dist/). */
export const ROOT = path.resolve(__dirname, '..', '..');
export const BIN = path.join(ROOT, 'bin', 'splitsim.js');

/** Result of one CLI run. */
export interface CliResult { code: number | null; stdout: string; stderr: string }

/**
 * Harness for tests of the real command line: `maybe` is describe (or describe.skip, with a
 * printed reason, when `builtFile` under dist/ is missing), `work` a scratch working
 * directory removed after the file's tests, and `run` spawns `node bin/splitsim.js`.
 */
export function cliHarness(what: string, builtFile: string) {
  const built = fs.existsSync(path.join(ROOT, 'dist', builtFile));
  if (!built) console.log(`skipping ${what} CLI tests: dist/ is missing; run \`npm run build\` (npm test does)`);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), `splitsim-${what}-cli-`));
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));
  const run = (args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): CliResult => {
    const r = spawnSync(process.execPath, [BIN, ...args], { cwd: opts.cwd ?? work, encoding: 'utf8', env: opts.env ?? process.env });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  return { maybe: built ? describe : describe.skip, work, run };
}
