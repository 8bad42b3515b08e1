/**
 * Resolves the Actor of a request once (session cookie or bearer API token) and enforces CSRF on
 * state-changing calls made with the cookie.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { timingSafeEqual } from 'node:crypto';
import type { AppContext } from '../context.ts';
import { AppError } from '../errors.ts';
import { identity, type Actor, type Terminal } from '../../modules/identity/index.ts';

export const SESSION_COOKIE = 'mamori_session';

declare module 'fastify' {
  interface FastifyRequest {
    actor: Actor | null;
    sessionHash: Buffer | null;
    csrfToken: string | null;
  }
}

export function terminalOf(request: FastifyRequest): Terminal {
  const device = request.headers['x-mamori-terminal'];
  const ua = request.headers['user-agent'];
  return {
    ip: request.ip ?? null,
    userAgent: typeof ua === 'string' ? ua.slice(0, 300) : null,
    deviceId: typeof device === 'string' ? device.slice(0, 100) : null,
  };
}

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

export async function resolveActor(ctx: AppContext, request: FastifyRequest): Promise<Actor> {
  const authz = request.headers.authorization;
  const terminal = terminalOf(request);
  if (typeof authz === 'string' && authz.startsWith('Bearer ')) {
    const actor = await identity.resolveApiToken(ctx, authz.slice(7).trim(), terminal, request.id);
    request.actor = actor;
    return actor;
  }
  const cookie = request.cookies?.[SESSION_COOKIE];
  if (!cookie) throw new AppError('auth.required', 'Sign in first.');
  const s = await identity.resolveSession(ctx, cookie, terminal, request.id);
  if (!SAFE.has(request.method)) {
    const sent = request.headers['x-csrf-token'];
    const a = Buffer.from(typeof sent === 'string' ? sent : '');
    const b = Buffer.from(s.csrfToken);
    if (a.length !== b.length || !timingSafeEqual(a, b)) throw new AppError('auth.csrf', 'Missing or wrong CSRF token (header x-csrf-token).');
  }
  request.actor = s.actor;
  request.sessionHash = s.sessionHash;
  request.csrfToken = s.csrfToken;
  return s.actor;
}

export function requireActor(request: FastifyRequest): Actor {
  if (!request.actor) throw new AppError('auth.required', 'Sign in first.');
  return request.actor;
}

export function clearSessionCookie(reply: FastifyReply): void {
  void reply.clearCookie(SESSION_COOKIE, { path: '/' });
}
