/** PostgreSQL error codes the service reacts to (https://www.postgresql.org/docs/current/errcodes-appendix.html). */
export const SQLSTATE = {
  UNIQUE_VIOLATION: '23505',
  FOREIGN_KEY_VIOLATION: '23503',
  INVALID_TEXT_REPRESENTATION: '22P02',
  INSUFFICIENT_PRIVILEGE: '42501',
} as const;

export function sqlState(e: unknown): string | undefined {
  return e && typeof e === 'object' && 'code' in e && typeof (e as { code: unknown }).code === 'string'
    ? (e as { code: string }).code
    : undefined;
}

const CONNECTION_ERRNOS = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);

/**
 * True when the error means the connection is gone or could not be made, not that the statement was wrong: SQLSTATE class 08
 * (connection exception), 57P01-57P03 (terminated by an administrator, crash shutdown, cannot connect now), 53300 (too many
 * connections), socket errors, and the driver's own "connection terminated / not queryable" errors.
 */
export function isConnectionFailure(e: unknown): boolean {
  const code = sqlState(e);
  if (code && (code.startsWith('08') || ['57P01', '57P02', '57P03', '53300'].includes(code) || CONNECTION_ERRNOS.has(code))) return true;
  const msg = e instanceof Error ? e.message : '';
  return /Connection terminated|not queryable|Client was closed|connection error|timeout exceeded when trying to connect/i.test(msg);
}
