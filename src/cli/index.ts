import yargs, { type CommandModule } from 'yargs';
import { UserError } from '../util/errors';
import { SPLITSIM_VERSION } from '../util/version';

/**
 * The command registry: one module per command under src/cli/. Each module default-exports
 * a yargs CommandModule whose handler may be async and throws UserError for bad input.
 */
const COMMANDS: Array<() => CommandModule<any, any>> = [
  () => require('./simulate').default,
  () => require('./pipelines').default,
  () => require('./link').default,
  () => require('./zoo').default,
  () => require('./measure').default,
  () => require('./compare').default,
  () => require('./profile').default,
  () => require('./calibrate').default,
];

/** Prints a user error and sets exit code 2 (bad input), or 1 for anything else. */
export function reportError(e: unknown): void {
  if (e instanceof UserError) {
    process.stderr.write(`splitsim: ${e.message}\n`);
    process.exitCode = 2;
  } else {
    process.stderr.write(`splitsim: internal error: ${(e as Error)?.stack ?? String(e)}\n`);
    process.exitCode = 1;
  }
}

/** Entry point of the `splitsim` binary. */
export async function main(argv: string[]): Promise<void> {
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
  try {
    await cli.parseAsync();
  } catch (e) {
    reportError(e);
  }
}
