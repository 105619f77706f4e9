import { serve } from '../../src/serve';
import { bytesFaceEngine } from './fake-engine';

/**
 * A real service process (src/serve.ts: its own database, keys, HTTP(S) server, shutdown) whose face engine is the stand-in
 * bytesFaceEngine: for multi-process tests that are about federation, not the model. `FACEMATCH_TEST_ENGINE=real` keeps the
 * configured real engine.
 */
serve(process.env.FACEMATCH_TEST_ENGINE === 'real' ? {} : { engineFactory: async () => bytesFaceEngine() }).catch((e) => {
  process.stderr.write(`facematch failed to start: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
