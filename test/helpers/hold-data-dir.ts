/**
 * Child process for the DATA_DIR lock tests: opens the embedded database under argv[2] like the service does, prints
 * `open <pid>` and stays open until killed (or prints the refusal and exits 1).
 */
import { openDb } from '../../src/platform/db/open';

openDb({ dataDir: process.argv[2]! }).then(
  () => process.stdout.write(`open ${process.pid}\n`),
  (e: Error) => {
    process.stderr.write(`${e.message}\n`);
    process.exit(1);
  },
);
setInterval(() => undefined, 1 << 30);
