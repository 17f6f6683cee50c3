import yargs, { type CommandModule } from 'yargs';
import { UserError } from '../util/errors';
import { SPLITSIM_VERSION } from '../util/version';

/**
 * The command registry: one module per command under src/cli/. Each module default-exports
 * a yargs CommandModule whose handler may be async and throws UserError for bad input.
 */
const COMMANDS: Array<() => CommandModule<any, any>> = [
  () => require('./simulate').default,
  () => require('./sweep').default,
  () => require('./report').default,
  () => require('./pipelines').default,
  () => require('./link').default,
  () => require('./zoo').default,
  () => require('./measure').default,
  () => require('./merge').default,
  () => require('./compare').default,
  () => require('./profile').default,
  () => require('./calibrate').default,
  () => require('./serve').default,
  () => require('./shape').default,
  () => require('./live').default,
  () => require('./device').default,
];

/**
 * Prints an error and sets the exit code: 2 for bad input (the message names the file, field
 * and expectation), 1 for anything else, which is splitsim's fault: one line asking for a
 * report, and the stack trace only with --debug (or SPLITSIM_DEBUG=1).
 */
export function reportError(e: unknown, debug = process.env.SPLITSIM_DEBUG === '1'): void {
  if (e instanceof UserError) {
    process.stderr.write(`splitsim: ${e.message}\n`);
    process.exitCode = 2;
    return;
  }
  const err = e as Error;
  // Running out of stack or memory on some input is still an internal error, but say so plainly.
  const what = err instanceof RangeError && /call stack/i.test(err.message) ? 'stack overflow' : (err?.message ?? String(e)).split('\n')[0];
  process.stderr.write(`splitsim: internal error, please report it with the command line: ${what}\n`);
  if (debug) process.stderr.write(`${err?.stack ?? String(e)}\n`);
  else process.stderr.write('splitsim: (run again with --debug for the stack trace)\n');
  process.exitCode = 1;
}

/**
 * Options that take a value must be given one: `--seed` followed by nothing or by another
 * flag is an error, not a silent default. yargs would take it as undefined (or the next flag).
 */
function checkValues(argv: string[], takesValue: Set<string>): void {
  for (let i = 0; i < argv.length; i++) {
    const t = argv[i];
    if (t === '--') break;
    const m = /^--?([A-Za-z][\w-]*)$/.exec(t);
    if (!m || !takesValue.has(m[1])) continue;
    const next = argv[i + 1];
    if (next === undefined || (/^--?[A-Za-z]/.test(next) && !/^-\d/.test(next))) throw new UserError(`--${m[1]}: expected a value`);
  }
}

/** Entry point of the `splitsim` binary. */
export async function main(argv: string[]): Promise<void> {
  const debug = argv.includes('--debug') || process.env.SPLITSIM_DEBUG === '1';
  argv = argv.filter((a) => a !== '--debug');
  let cli = yargs(argv)
    .scriptName('splitsim')
    .version(SPLITSIM_VERSION)
    .strict()
    .demandCommand(1, 'name a command (see --help)')
    .recommendCommands()
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((msg, err) => {
      if (err) throw err;
      throw new UserError(`${msg} (see 'splitsim --help')`);
    });
  for (const load of COMMANDS) cli = cli.command(load());
  cli = cli.middleware(((_args: unknown, y: unknown) => {
    const o = (y as { getOptions(): { string: string[]; number: string[] } }).getOptions();
    const kebab = (k: string) => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    checkValues(argv, new Set([...o.string, ...o.number].flatMap((k) => [k, kebab(k)])));
  }) as never, true);
  try {
    await cli.parseAsync();
  } catch (e) {
    reportError(e, debug);
  }
}
