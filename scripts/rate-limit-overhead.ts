/**
 * What the shared (PostgreSQL) rate-limit store costs per request, against the in-memory one (docs/SCALING.md, "Several
 * instances"). Creates a scratch database on the server of BENCH_DATABASE_URL (default the local postgres database), drops it
 * at the end.
 *
 *   npx tsx scripts/rate-limit-overhead.ts [requests per store, default 4000] [HTTP clients at once, default 1]
 *
 * 1. The store alone: sequential `take` calls (one round trip each) on the database store, database clock, and on memory.
 * 2. Through HTTP: two apps on the same database, one per store, listening on 127.0.0.1; sequential keep-alive
 *    `GET /v1/keys/me` (authentication + the rate decision + one read) from each client, measured in alternating blocks so
 *    that load from other work on the machine falls on both alike. The difference of the medians is the added latency per
 *    request; with several clients at once, the decisions also queue for the pool (10 connections) and the bucket's row lock.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import pino from 'pino';
import { compose } from '../src/compose';
import { loadConfig } from '../src/config';
import { createRateLimiter, databaseBucketStore, memoryBucketStore } from '../src/platform/http/rate-limit';
import { migrate } from '../src/platform/db/migrate';
import { createPostgresDb } from '../src/platform/db/postgres.db';
import { createRateBucketRepo } from '../src/platform/http/rate-bucket.repo';

const N = Number(process.argv[2] ?? 4000);
const CLIENTS = Number(process.argv[3] ?? 1);
const server = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};
const summary = (xs: number[]) => ({ p50: +quantile(xs, 0.5).toFixed(3), p95: +quantile(xs, 0.95).toFixed(3), p99: +quantile(xs, 0.99).toFixed(3) });

async function admin(sql: string) {
  const c = new pg.Client({ connectionString: server });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

function get(port: number, agent: http.Agent, auth: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = http.get({ host: '127.0.0.1', port, path: '/v1/keys/me', agent, headers: { Authorization: `Bearer ${auth}` } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve(performance.now() - t0) : reject(new Error(`HTTP ${res.statusCode}`))));
    });
    req.on('error', reject);
  });
}

async function main() {
  const name = `facematch_ratelimit_${randomBytes(4).toString('hex')}`;
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(server);
  url.pathname = `/${name}`;
  const db = await createPostgresDb(url.toString(), 10);
  const servers: http.Server[] = [];
  try {
    await admin(`CREATE EXTENSION IF NOT EXISTS vector`).catch(() => undefined);
    await db.exec('CREATE EXTENSION IF NOT EXISTS vector');
    await migrate(db);

    // 1. The store alone.
    const stores = {
      memory: createRateLimiter(1_000_000, memoryBucketStore()),
      database: createRateLimiter(1_000_000, databaseBucketStore(db, createRateBucketRepo())),
    };
    const storeMs: Record<string, number[]> = { memory: [], database: [] };
    for (let i = 0; i < 200; i++) await stores.database.take('key:warm-up');
    for (let i = 0; i < N; i++) {
      for (const k of ['memory', 'database'] as const) {
        const t0 = performance.now();
        await stores[k].take(`key:${i % 50}`);
        storeMs[k]!.push(performance.now() - t0);
      }
    }

    // 2. Through HTTP.
    const token = `fm_${randomBytes(32).toString('base64url')}`;
    const logger = pino({ level: 'silent' });
    const ports: Record<string, number> = {};
    for (const store of ['memory', 'database'] as const) {
      const config = loadConfig({
        NODE_ENV: 'production',
        DATABASE_URL: url.toString(),
        FACEMATCH_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
        RATE_LIMIT_PER_MINUTE: '1000000',
        RATE_LIMIT_STORE: store,
        LOG_LEVEL: 'silent',
      });
      const system = await compose({ config, db, logger, engineFactory: async () => { throw new Error('no engine needed'); } });
      await system.keys.bootstrap(token);
      const s = http.createServer(system.app);
      await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
      servers.push(s);
      ports[store] = (s.address() as AddressInfo).port;
    }
    const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS });
    const httpMs: Record<string, number[]> = { memory: [], database: [] };
    for (const store of ['memory', 'database']) for (let i = 0; i < 100; i++) await get(ports[store]!, agent, token);
    const block = 200;
    for (let done = 0; done < N; done += block) {
      for (const store of ['memory', 'database']) {
        await Promise.all(
          Array.from({ length: CLIENTS }, async () => {
            for (let i = 0; i < block / CLIENTS; i++) httpMs[store]!.push(await get(ports[store]!, agent, token));
          }),
        );
      }
    }
    agent.destroy();

    const out = {
      requestsPerStore: N,
      httpClients: CLIENTS,
      storeTakeMs: { memory: summary(storeMs.memory!), database: summary(storeMs.database!) },
      httpKeysMeMs: { memory: summary(httpMs.memory!), database: summary(httpMs.database!) },
      addedPerRequestMs: {
        p50: +(quantile(httpMs.database!, 0.5) - quantile(httpMs.memory!, 0.5)).toFixed(3),
        p95: +(quantile(httpMs.database!, 0.95) - quantile(httpMs.memory!, 0.95)).toFixed(3),
      },
    };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  } finally {
    for (const s of servers) await new Promise((resolve) => s.close(resolve));
    await db.close();
    await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
