import * as fs from 'fs';
import * as path from 'path';

/** Root of the installed package (the folder holding package.json). */
export const PACKAGE_ROOT: string = (() => {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    dir = path.dirname(dir);
  }
  return process.cwd();
})();

/** The splitsim version from package.json, recorded in every result file. */
export const SPLITSIM_VERSION: string = JSON.parse(
  fs.readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8'),
).version;
