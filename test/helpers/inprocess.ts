import { main } from '../../src/cli/index';

/**
 * Runs the CLI in this process (no build needed) with stdout silenced and stderr captured;
 * returns the exit code it set and what it wrote to stderr.
 */
export async function runCli(args: string[]): Promise<{ code: number | undefined; err: string }> {
  const before = process.exitCode;
  process.exitCode = undefined;
  let err = '';
  const spyErr = jest.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
    err += String(s);
    return true;
  });
  const spyOut = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
  try {
    await main(args);
  } finally {
    spyErr.mockRestore();
    spyOut.mockRestore();
  }
  const code = process.exitCode as number | undefined;
  process.exitCode = before;
  return { code, err };
}
