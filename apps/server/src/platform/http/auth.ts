/**
 * Resolves the Actor of a request once (session cookie or bearer API token) and enforces CSRF on
 * state-changing calls made with the cookie.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
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
  return terminalFrom(request.ip, request.headers);
}

/** The terminal of a request from its client address and headers (the Fastify routes and the lean route share it). */
export function terminalFrom(ip: string | undefined, headers: IncomingHttpHeaders): Terminal {
  const device = headers['x-mamori-terminal'];
  const ua = headers['user-agent'];
  return {
    ip: ip ?? null,
    userAgent: typeof ua === 'string' ? ua.slice(0, 300) : null,
    deviceId: typeof device === 'string' ? device.slice(0, 100) : null,
  };
}

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/** What the actor of a request is resolved from. */
export type CredentialInput = {
  method: string;
  headers: IncomingHttpHeaders;
  /** The session cookie's value, if the request has one. */
  sessionCookie: string | undefined;
  terminal: Terminal;
  requestId: string;
};

export type ResolvedActor = { actor: Actor; sessionHash: Buffer | null; csrfToken: string | null };

/** Resolves the actor (bearer API token first, then the session cookie) and checks CSRF on unsafe methods with the cookie. */
export async function resolveCredential(ctx: AppContext, input: CredentialInput): Promise<ResolvedActor> {
  const authz = input.headers.authorization;
  if (typeof authz === 'string' && authz.startsWith('Bearer ')) {
    return { actor: await identity.resolveApiToken(ctx, authz.slice(7).trim(), input.terminal, input.requestId), sessionHash: null, csrfToken: null };
  }
  const cookie = input.sessionCookie;
  if (!cookie) throw new AppError('auth.required', 'Sign in first.');
  const s = await identity.resolveSession(ctx, cookie, input.terminal, input.requestId);
  if (!SAFE.has(input.method)) {
    const sent = input.headers['x-csrf-token'];
    const a = Buffer.from(typeof sent === 'string' ? sent : '');
    const b = Buffer.from(s.csrfToken);
    if (a.length !== b.length || !timingSafeEqual(a, b)) throw new AppError('auth.csrf', 'Missing or wrong CSRF token (header x-csrf-token).');
  }
  return { actor: s.actor, sessionHash: s.sessionHash, csrfToken: s.csrfToken };
}

export async function resolveActor(ctx: AppContext, request: FastifyRequest): Promise<Actor> {
  const r = await resolveCredential(ctx, {
    method: request.method, headers: request.headers, sessionCookie: request.cookies?.[SESSION_COOKIE], terminal: terminalOf(request), requestId: request.id,
  });
  request.actor = r.actor;
  request.sessionHash = r.sessionHash;
  request.csrfToken = r.csrfToken;
  return r.actor;
}

export function requireActor(request: FastifyRequest): Actor {
  if (!request.actor) throw new AppError('auth.required', 'Sign in first.');
  return request.actor;
}

export function clearSessionCookie(reply: FastifyReply): void {
  void reply.clearCookie(SESSION_COOKIE, { path: '/' });
}
