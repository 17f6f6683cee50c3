import * as fs from 'fs';
import * as path from 'path';

/**
 * Benchmark dispatcher: `npm run bench -- <name> [args]` runs bench/<name>.ts's exported
 * `main(args)`. Each benchmark measures splitsim and a peer in the same run and prints ratios.
 */
async function dispatch(argv: string[]): Promise<void> {
  const available = fs
    .readdirSync(__dirname)
    .filter((f) => f.endsWith('.js') && f !== 'index.js')
    .map((f) => f.slice(0, -3))
    .sort();
  const [name, ...args] = argv;
  if (!name || !available.includes(name)) {
    process.stderr.write(`usage: npm run bench -- <name> [args]; benchmarks: ${available.join(', ')}\n`);
    process.exitCode = 2;
    return;
  }
  const mod = require(path.join(__dirname, name)) as { main?: (args: string[]) => unknown };
  if (typeof mod.main !== 'function') throw new Error(`bench/${name}.ts does not export main(args)`);
  await mod.main(args);
}

dispatch(process.argv.slice(2)).catch((e) => {
  process.stderr.write(`bench: ${(e as Error)?.stack ?? String(e)}\n`);
  process.exitCode = 1;
});
