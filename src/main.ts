import { serve } from './serve';

serve().catch((e) => {
  process.stderr.write(`facematch failed to start: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
