import { ValidationError } from './errors';

/** Opaque keyset cursor over (createdAt, id): base64url JSON, so clients cannot depend on its shape. */
export function encodeCursor(last: { createdAt: string; id: string } | undefined): string | null {
  return last ? Buffer.from(JSON.stringify([last.createdAt, last.id])).toString('base64url') : null;
}

export function decodeCursor(cursor: string | undefined): { createdAt: string; id: string } | undefined {
  if (!cursor) return undefined;
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [string, string];
    if (typeof createdAt !== 'string' || typeof id !== 'string' || Number.isNaN(Date.parse(createdAt))) throw new Error();
    return { createdAt, id };
  } catch {
    throw new ValidationError('The cursor is not valid; pass nextCursor from a previous page.');
  }
}

/** Fetch one more than the page to know whether another page exists. */
export function page<T extends { createdAt: string; id: string }>(rows: T[], limit: number): { items: T[]; nextCursor: string | null } {
  const items = rows.slice(0, limit);
  return { items, nextCursor: rows.length > limit ? encodeCursor(items[items.length - 1]) : null };
}
