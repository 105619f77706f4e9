import request from 'supertest';
import { backends, type TestDb } from '../helpers/databases';
import { BOOTSTRAP_KEY, startService } from '../helpers/app';

describe.each(backends())('API keys and authorization on $name', (backend) => {
  let t: TestDb;
  let svc: Awaited<ReturnType<typeof startService>>;
  beforeAll(async () => {
    t = await backend.open();
    svc = await startService(t.db);
  });
  afterAll(() => t.drop());

  const admin = `Bearer ${BOOTSTRAP_KEY}`;

  it('returns 401 UNAUTHENTICATED without a key, with a malformed header and with an unknown key', async () => {
    for (const header of [undefined, 'Basic abc', 'Bearer', `Bearer ${BOOTSTRAP_KEY}x`, 'Bearer fm_unknownkeyunknownkeyunknownkey']) {
      const req = request(svc.app).get('/v1/keys');
      const res = await (header ? req.set('Authorization', header) : req);
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('UNAUTHENTICATED');
      expect(res.body.requestId).toEqual(res.headers['x-request-id']);
    }
  });

  it('creates a key whose secret is shown once, lists keys without secrets, and revokes it (then 401)', async () => {
    const created = await request(svc.app)
      .post('/v1/keys')
      .set('Authorization', admin)
      .send({ roles: ['searcher'], organization: 'bank-a', holder: 'KYC gateway of bank A', label: 'kyc' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ roles: ['searcher'], organization: 'bank-a', holder: 'KYC gateway of bank A', label: 'kyc' });
    expect(created.body.key).toMatch(/^fm_[A-Za-z0-9_-]{43}$/);

    const list = await request(svc.app).get('/v1/keys').set('Authorization', admin);
    expect(list.status).toBe(200);
    expect(JSON.stringify(list.body)).not.toContain(created.body.key);
    expect(JSON.stringify(list.body)).not.toMatch(/scrypt|secret/i);
    expect(list.body.items.map((k: { id: string }) => k.id)).toContain(created.body.id);

    const stored = await t.db.query<{ secret_hash: string }>('SELECT secret_hash FROM api_key WHERE id = $1', [created.body.id]);
    expect(stored.rows[0]!.secret_hash).toMatch(/^scrypt\$/);
    expect(stored.rows[0]!.secret_hash).not.toContain(created.body.key);

    const asSearcher = `Bearer ${created.body.key}`;
    expect((await request(svc.app).get('/v1/keys').set('Authorization', asSearcher)).status).toBe(403);

    const revoked = await request(svc.app).delete(`/v1/keys/${created.body.id}`).set('Authorization', admin);
    expect(revoked.status).toBe(200);
    expect(revoked.body.revokedAt).toEqual(expect.any(String));
    const after = await request(svc.app).get('/v1/keys').set('Authorization', asSearcher);
    expect(after.status).toBe(401);
  });

  it("lists each key's last use, written at most once a minute whatever the request rate", async () => {
    const created = await request(svc.app).post('/v1/keys').set('Authorization', admin).send({ roles: ['auditor'], organization: 'bank-a', holder: 'Idle Ida' });
    const lastUsed = async () => (await request(svc.app).get('/v1/keys').set('Authorization', admin)).body.items.find((k: { id: string }) => k.id === created.body.id).lastUsedAt;
    expect(created.body.lastUsedAt).toBeNull();
    expect(await lastUsed()).toBeNull();
    for (let i = 0; i < 3; i++) expect((await request(svc.app).get('/v1/keys/me').set('Authorization', `Bearer ${created.body.key}`)).status).toBe(200);
    const first = await lastUsed();
    expect(Date.parse(first)).toBeGreaterThan(Date.now() - 60_000);
    expect(await lastUsed()).toBe(first);
  });

  it('requires a holder on every new key (400 VALIDATION_FAILED naming holder)', async () => {
    for (const holder of [undefined, '', '   ']) {
      const res = await request(svc.app).post('/v1/keys').set('Authorization', admin).send({ roles: ['reviewer'], organization: 'bank-a', ...(holder === undefined ? {} : { holder }) });
      expect(res.status).toBe(400);
      expect(res.body.error.details.map((d: { path: string }) => d.path)).toContain('holder');
    }
  });

  it('tells any key who it is at GET /v1/keys/me (holder, organization, roles; no secret), and the bootstrap key is held by "bootstrap admin"', async () => {
    const k = await svc.key(['reviewer', 'searcher'], 'bank-a', 'Ada Reviewer');
    const me = await request(svc.app).get('/v1/keys/me').set('Authorization', k.auth).expect(200);
    expect(me.body).toMatchObject({ id: k.id, holder: 'Ada Reviewer', organization: 'bank-a', roles: ['reviewer', 'searcher'], revokedAt: null });
    expect(JSON.stringify(me.body)).not.toMatch(/scrypt|fm_/);
    const boot = await request(svc.app).get('/v1/keys/me').set('Authorization', admin).expect(200);
    expect(boot.body).toMatchObject({ holder: 'bootstrap admin', organization: '*', roles: ['admin'] });
    expect((await request(svc.app).get('/v1/keys/me')).status).toBe(401);
  });

  it('returns 403 FORBIDDEN for every non-admin role on key management', async () => {
    for (const role of ['searcher', 'enroller', 'reviewer', 'auditor'] as const) {
      const k = await svc.key([role], 'bank-a');
      const res = await request(svc.app).post('/v1/keys').set('Authorization', k.auth).send({ roles: ['admin'], organization: '*' });
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('FORBIDDEN');
    }
  });

  it('does not let an organization admin mint keys for another organization or see its keys', async () => {
    const orgAdmin = await svc.key(['admin'], 'bank-b');
    const res = await request(svc.app).post('/v1/keys').set('Authorization', orgAdmin.auth).send({ roles: ['searcher'], organization: 'bank-a', holder: 'someone' });
    expect(res.status).toBe(403);
    const list = await request(svc.app).get('/v1/keys').set('Authorization', orgAdmin.auth);
    expect(list.body.items.every((k: { organization: string }) => k.organization === 'bank-b')).toBe(true);
  });

  it('rejects an invalid key request with 400 VALIDATION_FAILED naming the field', async () => {
    const res = await request(svc.app).post('/v1/keys').set('Authorization', admin).send({ roles: ['wizard'], organization: '' });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('VALIDATION_FAILED');
    expect(res.body.error.details.map((d: { path: string }) => d.path)).toEqual(expect.arrayContaining(['roles.0', 'organization']));
    const bad = await request(svc.app).post('/v1/keys').set('Authorization', admin).set('Content-Type', 'application/json').send('{"roles":');
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('VALIDATION_FAILED');
  });

  it('records key creation and revocation in the audit chain', async () => {
    const k = await svc.key(['reviewer'], 'bank-c');
    await request(svc.app).delete(`/v1/keys/${k.id}`).set('Authorization', admin);
    const ev = await t.db.query<{ type: string }>(
      "SELECT type FROM audit_event WHERE payload->>'keyId' = $1 ORDER BY seq",
      [k.id],
    );
    expect(ev.rows.map((r) => r.type)).toEqual(['key.created', 'key.revoked']);
    const created = await t.db.query<{ holder: string }>("SELECT payload->>'holder' AS holder FROM audit_event WHERE type = 'key.created' AND payload->>'keyId' = $1", [k.id]);
    expect(created.rows[0]!.holder).toMatch(/^holder of key/);
  });

  it('refuses to revoke the last active admin key of organization * (409 LAST_ADMIN), however many other admins exist', async () => {
    const own = await backend.open();
    try {
      const s = await startService(own.db);
      const me = (await request(s.app).get('/v1/keys/me').set('Authorization', admin).expect(200)).body.id as string;
      await s.key(['admin'], 'bank-a'); // an organization's admin does not count: it cannot manage organization *'s keys
      const last = await request(s.app).delete(`/v1/keys/${me}`).set('Authorization', admin);
      expect(last.status).toBe(409);
      expect(last.body.error).toEqual({ code: 'LAST_ADMIN', message: expect.stringContaining('create another admin key for organization * first') });
      expect((await request(s.app).get('/v1/keys').set('Authorization', admin)).status).toBe(200); // still usable

      // With a second * admin the first goes, and the second is then the last.
      const second = await s.key(['admin', 'auditor'], '*');
      expect((await request(s.app).delete(`/v1/keys/${me}`).set('Authorization', second.auth)).status).toBe(200);
      expect((await request(s.app).delete(`/v1/keys/${second.id}`).set('Authorization', second.auth)).body.error.code).toBe('LAST_ADMIN');

      // Two * admins revoking each other at once: one succeeds; the other is refused, as the last admin (409) or, when the
      // first revocation committed before its request authenticated, as a revoked key (401). One admin always remains.
      const third = await s.key(['admin'], '*');
      const both = await Promise.all([
        request(s.app).delete(`/v1/keys/${third.id}`).set('Authorization', second.auth),
        request(s.app).delete(`/v1/keys/${second.id}`).set('Authorization', third.auth),
      ]);
      const statuses = both.map((r) => r.status).sort();
      expect(statuses[0]).toBe(200);
      expect([401, 409]).toContain(statuses[1]);
      const active = await own.db.query<{ n: number }>("SELECT count(*)::int AS n FROM api_key WHERE 'admin' = ANY(roles) AND organization = '*' AND revoked_at IS NULL");
      expect(active.rows[0]!.n).toBe(1);
    } finally {
      await own.drop();
    }
  });

  it('bootstraps only once: a second bootstrap with another key registers nothing', async () => {
    expect(await svc.keys.bootstrap('another-bootstrap-key-0000000000')).toEqual({ created: false, activeAdmin: true });
    const res = await request(svc.app).get('/v1/keys').set('Authorization', 'Bearer another-bootstrap-key-0000000000');
    expect(res.status).toBe(401);
  });

  // Issue 27 #8: with every admin key revoked (the last one by SQL in an incident, or by an earlier version), a start with the
  // old FACEMATCH_BOOTSTRAP_ADMIN_KEY still set failed on the duplicate api_key_lookup_key, and a start without it minted a new
  // `*` admin on a database that has keys. Bootstrap now runs only on an empty key table; serve.ts logs BOOTSTRAP_RECOVERY.
  it('bootstraps nothing on a database that has keys but no active admin: no failure with the old key, no new admin without it', async () => {
    const own = await backend.open();
    try {
      const s = await startService(own.db);
      await own.db.query('UPDATE api_key SET revoked_at = now() WHERE revoked_at IS NULL');
      const before = await own.db.query<{ n: number }>('SELECT count(*)::int AS n FROM api_key');
      expect(await s.keys.bootstrap(BOOTSTRAP_KEY)).toEqual({ created: false, activeAdmin: false });
      expect(await s.keys.bootstrap()).toEqual({ created: false, activeAdmin: false });
      expect((await own.db.query<{ n: number }>('SELECT count(*)::int AS n FROM api_key')).rows[0]!.n).toBe(before.rows[0]!.n);
      expect((await request(s.app).get('/v1/keys').set('Authorization', admin)).status).toBe(401);
      const boots = await own.db.query<{ n: number }>("SELECT count(*)::int AS n FROM audit_event WHERE type = 'key.bootstrapped'");
      expect(boots.rows[0]!.n).toBe(1);
    } finally {
      await own.drop();
    }
  });

  it('answers 429 RATE_LIMITED with Retry-After when a key exceeds its rate', async () => {
    const limited = await startService(t.db, { env: { RATE_LIMIT_PER_MINUTE: '3' }, migrateFirst: false, clock: () => 0 });
    const statuses: number[] = [];
    let retryAfter: string | undefined;
    for (let i = 0; i < 5; i++) {
      const res = await request(limited.app).get('/v1/keys').set('Authorization', admin);
      statuses.push(res.status);
      if (res.status === 429) {
        retryAfter = res.headers['retry-after'];
        expect(res.body.error.code).toBe('RATE_LIMITED');
      }
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
  });
});
