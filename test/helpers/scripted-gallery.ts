import request from 'supertest';
import type { Express } from 'express';
import type { scriptedEngine } from './fake-engine';

/**
 * Subjects enrolled through the HTTP API, one scripted face each (subject i shows identity i + 1), on watchlist `watchlist`.
 * Returns their ids in order. `image` gives distinct bytes per call.
 */
export async function enrolScripted(
  app: Express,
  fake: ReturnType<typeof scriptedEngine>,
  enroller: string,
  names: string[],
  image: () => Promise<Buffer>,
  watchlist = 'wl',
): Promise<string[]> {
  const ids: string[] = [];
  for (const [i, name] of names.entries()) {
    const s = await request(app).post('/v1/subjects').set('Authorization', enroller)
      .send({ displayName: name, category: 'fraud', watchlist, legalBasis: 'test' }).expect(201);
    ids.push(s.body.id);
    const photo = fake.script(await image(), [{ identity: i + 1 }]);
    await request(app).post(`/v1/subjects/${s.body.id}/faces`).set('Authorization', enroller).attach('image', photo, 'x.jpg').expect(201);
  }
  return ids;
}
