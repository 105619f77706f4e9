/**
 * A second (third …) delivery process for test/integration/webhook-instances.test.ts: the real webhook worker on the
 * PostgreSQL database of DATABASE_URL, ticking every TICK_MS without waiting for the previous pass (as main.ts does), with the
 * service's image key (FACEMATCH_ENCRYPTION_KEY) to open webhook secrets and the loopback-only test policy. SIGTERM: stop
 * ticking, wait for the deliveries in flight, exit 0.
 */
import { createImageCipher } from '../../src/platform/crypto/image-cipher';
import { createPostgresDb } from '../../src/platform/db/postgres.db';
import { createWebhookRepo } from '../../src/modules/notice/webhook.repo';
import { createWebhookWorker } from '../../src/modules/notice/webhook.worker';

async function main() {
  const db = await createPostgresDb(process.env.DATABASE_URL!, 4);
  const worker = createWebhookWorker({
    db,
    webhooks: createWebhookRepo(),
    cipher: createImageCipher(Buffer.from(process.env.FACEMATCH_ENCRYPTION_KEY!, 'base64')),
    policy: { allowHttp: true, allowedHosts: [], allowLoopbackForTests: true },
    perOrganization: Number(process.env.PER_ORGANIZATION ?? 4),
  });
  const timer = setInterval(() => {
    worker.tick().catch((e: unknown) => process.stderr.write(`tick failed: ${e instanceof Error ? e.message : String(e)}\n`));
  }, Number(process.env.TICK_MS ?? 20));
  process.stdout.write('ready\n');
  process.on('SIGTERM', () => {
    clearInterval(timer);
    void worker.drain().then(() => db.close()).then(() => process.exit(0));
  });
}

void main();
