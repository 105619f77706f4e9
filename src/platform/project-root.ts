import fs from 'node:fs';
import path from 'node:path';

/**
 * The project folder (where package.json, migrations/ and models/ are), found from this file's location both when running from
 * sources (src/platform) and when compiled (dist/src/platform).
 */
export const PROJECT_ROOT =
  [path.resolve(__dirname, '../..'), path.resolve(__dirname, '../../..')].find((d) => fs.existsSync(path.join(d, 'migrations'))) ??
  path.resolve(__dirname, '../..');
