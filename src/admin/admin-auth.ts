import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type http from 'node:http';

/** The cookie a browser gets from `/?token=...`: a session id, never the token itself. */
export const SESSION_COOKIE = 'otel_cluster_admin';
/** A session's life; the cookie's Max-Age is the same, so the browser forgets it when we do. */
export const SESSION_MS = 12 * 60 * 60_000;
/** Sessions kept at once; the oldest is forgotten first (its browser logs in again). */
export const MAX_SESSIONS = 1024;

/** What a request's credentials came to: allowed, a login that sets a cookie, or refused. */
export type AuthVerdict = { kind: 'allowed' } | { kind: 'login'; cookie: string } | { kind: 'refused' };

const digest = (s: string | Buffer) => createHash('sha256').update(s).digest();

/**
 * The admin token and the browser sessions made from it. The token is compared through SHA-256
 * digests with timingSafeEqual, so neither its content nor its length shows in the time an answer
 * takes. A browser that logs in with `/?token=` gets a random session id as an HttpOnly,
 * SameSite=Strict cookie with a Max-Age: cookies are shared by every port of a host, so the
 * cluster's own app (its logs, its error tracker) may see this cookie, and it must not be the
 * long-lived token. A session id is accepted only as the cookie, never as a Bearer token.
 */
export class AdminAuth {
  private readonly tokenDigest: Buffer;
  /** Session id digest (hex) -> expiry (epoch ms), oldest first. */
  private readonly sessions = new Map<string, number>();

  constructor(token: string) {
    this.tokenDigest = digest(token);
  }

  check(req: http.IncomingMessage, path: string, query: string | undefined, now = Date.now()): AuthVerdict {
    const bearer = bearerOf(req.headers.authorization);
    if (bearer !== undefined && this.isToken(bearer)) return { kind: 'allowed' };
    const session = cookieValue(req.headers.cookie, SESSION_COOKIE);
    if (session !== undefined && this.isSession(session, now)) return { kind: 'allowed' };
    const given = path === '/' && query ? new URLSearchParams(query).get('token') : null;
    if (given !== null && this.isToken(given)) return { kind: 'login', cookie: this.newSession(now) };
    return { kind: 'refused' };
  }

  private isToken(given: string): boolean {
    return timingSafeEqual(digest(given), this.tokenDigest);
  }

  private isSession(id: string, now: number): boolean {
    const key = digest(id).toString('hex');
    const expires = this.sessions.get(key);
    if (expires === undefined) return false;
    if (expires > now) return true;
    this.sessions.delete(key);
    return false;
  }

  private newSession(now: number): string {
    const id = randomBytes(32).toString('base64url');
    for (const [key, expires] of this.sessions)
      if (expires <= now || this.sessions.size >= MAX_SESSIONS) this.sessions.delete(key);
    this.sessions.set(digest(id).toString('hex'), now + SESSION_MS);
    return `${SESSION_COOKIE}=${id}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${SESSION_MS / 1000}`;
  }
}

/** The credentials of `Authorization: Bearer <token>`; the scheme is case-insensitive (RFC 7235). */
export function bearerOf(header: string | undefined): string | undefined {
  const m = header ? /^bearer[ \t]+(.*)$/i.exec(header) : null;
  return m ? m[1]!.trim() : undefined;
}

/** One cookie's value from a Cookie header; a malformed escape is kept as sent (and so does not match). */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const c = part.trim();
    if (!c.startsWith(`${name}=`)) continue;
    const v = c.slice(name.length + 1);
    try {
      return decodeURIComponent(v);
    } catch {
      return v;
    }
  }
  return undefined;
}
