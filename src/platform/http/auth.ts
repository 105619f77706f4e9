import type { NextFunction, Request, Response } from 'express';
import { hasRole, type Authenticator, type Principal, type Role } from '../../shared/principal';
import { ForbiddenError, UnauthenticatedError } from '../../shared/errors';

/**
 * `Authorization: Bearer <key>` → req.principal, or 401 UNAUTHENTICATED for a missing, unknown or revoked key. `onFailure` may
 * turn a failure into another error (the per-address limit on unauthenticated requests answers 429).
 */
export function authenticate(keys: Authenticator, onFailure: (req: Request) => Promise<Error | null> = async () => null) {
  return async (req: Request, _res: Response, next: NextFunction) => {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.header('authorization') ?? '');
    if (!m) return next((await onFailure(req)) ?? new UnauthenticatedError());
    const principal = await keys.authenticate(m[1]!);
    if (!principal) return next((await onFailure(req)) ?? new UnauthenticatedError('The API key is unknown or revoked.'));
    req.principal = principal;
    next();
  };
}

export function requireRole(...roles: Role[]) {
  return (req: Request, _res: Response, next: NextFunction) => {
    if (!req.principal) return next(new UnauthenticatedError());
    if (!hasRole(req.principal, ...roles)) {
      return next(new ForbiddenError(`This action needs one of the roles: ${roles.join(', ')}.`));
    }
    next();
  };
}

export function principalOf(req: Request): Principal {
  if (!req.principal) throw new UnauthenticatedError();
  return req.principal;
}
