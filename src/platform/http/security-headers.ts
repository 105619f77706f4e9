import type { NextFunction, Request, Response } from 'express';

/**
 * On every response: no MIME sniffing, never framed, no referrer, and not stored by any cache (nearly every answer carries
 * case data or biometric data; the few that do not are cheap). A route may override Cache-Control or the CSP (the HTML
 * report sets a stricter policy that keeps frame-ancestors 'none').
 */
export function securityHeaders(_req: Request, res: Response, next: NextFunction) {
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Content-Security-Policy', "frame-ancestors 'none'");
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('Cache-Control', 'no-store');
  next();
}
