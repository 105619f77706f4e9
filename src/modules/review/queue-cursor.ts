import { ValidationError } from '../../shared/errors';
import type { QueueSearchPosition, QueueSort } from './review.model';

/** Keyset position in the review queue: (search createdAt, search id, faceIndex, rank). Opaque base64url JSON. */
export interface QueuePosition {
  createdAt: string;
  searchId: string;
  faceIndex: number;
  rank: number;
}

export function encodeQueueCursor(p: QueuePosition): string {
  return Buffer.from(JSON.stringify([p.createdAt, p.searchId, p.faceIndex, p.rank])).toString('base64url');
}

export function decodeQueueCursor(cursor: string | undefined): QueuePosition | undefined {
  if (!cursor) return undefined;
  try {
    const [createdAt, searchId, faceIndex, rank] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [string, string, number, number];
    if (typeof createdAt !== 'string' || Number.isNaN(Date.parse(createdAt)) || !/^[0-9a-f-]{36}$/.test(searchId) || !Number.isInteger(faceIndex) || !Number.isInteger(rank)) {
      throw new Error();
    }
    return { createdAt, searchId, faceIndex, rank };
  } catch {
    throw new ValidationError('The cursor is not valid; pass nextCursor from a previous page.');
  }
}

/** Keyset position in the grouped queue (QueueSearchPosition), tied to its sort: a cursor of one sort is refused under another. */
export function encodeQueueSearchCursor(p: QueueSearchPosition): string {
  return Buffer.from(JSON.stringify([p.sort, p.createdAt, p.searchId, p.bestFmr])).toString('base64url');
}

export function decodeQueueSearchCursor(cursor: string | undefined, sort: QueueSort): QueueSearchPosition | undefined {
  if (!cursor) return undefined;
  try {
    const [s, createdAt, searchId, bestFmr] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [string, string, string, number];
    if (s !== sort || typeof createdAt !== 'string' || Number.isNaN(Date.parse(createdAt)) || !/^[0-9a-f-]{36}$/.test(searchId) || typeof bestFmr !== 'number') throw new Error();
    return { sort, createdAt, searchId, bestFmr };
  } catch {
    throw new ValidationError('The cursor is not valid for this sort; pass nextCursor from a previous page of the same sort.');
  }
}
