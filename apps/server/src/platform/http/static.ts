/**
 * The web console (apps/web, built to apps/web/dist) served at `/`, same origin as the API, and the
 * security headers every response carries.
 *
 * - Hashed assets (`/assets/*`) are cached for a year (immutable); `index.html` never (`no-store`),
 *   so a new build is picked up on the next load.
 * - Any other GET that is not the API, the API docs or a file name falls back to `index.html`: the
 *   console routes on the client (`/records`, `/audit`, …).
 * - A strict Content-Security-Policy: scripts only from this origin (the console has no inline
 *   script), no framing, no plugins. The Swagger UI page under /docs gets its own, slightly wider
 *   policy (its stylesheets and images), scoped to /docs only.
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import fastifyStatic from '@fastify/static';
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where `npm run build -w @mamori/web` writes the console. */
export const DEFAULT_WEB_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../web/dist');

export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  // Mantine writes its theme variables into <style> elements at run time.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "object-src 'none'",
].join('; ');

/** Swagger UI (/docs): its own scripts and styles from this origin, inline styles, data: images; nothing external. */
export const DOCS_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self' data:",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "object-src 'none'",
].join('; ');

const PERMISSIONS_POLICY = 'camera=(), microphone=(), geolocation=(), payment=(), usb=(), serial=(), bluetooth=()';

const pathOf = (request: FastifyRequest) => request.url.split('?', 1)[0] ?? '/';
const isDocs = (p: string) => p === '/docs' || p.startsWith('/docs/');

/** The security headers every response carries, except the Content-Security-Policy (it depends on the path). */
export function securityHeaders(opts: { hsts: boolean }): Record<string, string> {
  return {
    'x-frame-options': 'DENY',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'permissions-policy': PERMISSIONS_POLICY,
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
    ...(opts.hsts ? { 'strict-transport-security': 'max-age=31536000; includeSubDomains' } : {}),
  };
}

/** Security headers on every response (API, console, docs, errors). */
export function installSecurityHeaders(app: FastifyInstance, opts: { hsts: boolean }): void {
  // Built once and set on every response by a plain callback hook (no promise per response).
  const common = securityHeaders(opts);
  app.addHook('onSend', (request, reply, payload, done) => {
    void reply.header('content-security-policy', isDocs(pathOf(request)) ? DOCS_CSP : CONSOLE_CSP);
    void reply.headers(common);
    done(null, payload);
  });
}

const LONG_CACHE = 'public, max-age=31536000, immutable';
const SHORT_CACHE = 'public, max-age=3600';

function cacheControlFor(p: string): string {
  if (p.startsWith('/assets/')) return LONG_CACHE;
  if (p === '/' || p.endsWith('.html') || !/\.[a-z0-9]+$/i.test(p)) return 'no-store';
  return SHORT_CACHE;
}

/** Paths the console never answers with index.html: the API, SCIM, the docs, and anything that names a file. */
function isConsoleRoute(p: string): boolean {
  if (p === '/api' || p.startsWith('/api/') || p === '/scim' || p.startsWith('/scim/') || isDocs(p)) return false;
  return !/\/[^/]*\.[a-z0-9]+$/i.test(p);
}

function decodePath(p: string): string | null {
  try {
    return decodeURIComponent(p);
  } catch {
    return null;
  }
}

/** The file a URL path names inside root (relative to it), or null: no traversal, no directories, no dot-files. */
async function fileUnder(root: string, p: string): Promise<string | null> {
  if (p.includes('\0') || p.split('/').some((seg) => seg.startsWith('.'))) return null;
  const abs = path.resolve(root, `.${p}`);
  if (abs === root || !abs.startsWith(root + path.sep)) return null;
  try {
    return (await stat(abs)).isFile() ? path.relative(root, abs) : null;
  } catch {
    return null;
  }
}

/**
 * Serves the built console from `webDir`. Registered after the API routes. When the console has
 * not been built the server still runs (API only) and says once how to build it.
 */
export function webConsole(opts: { webDir?: string } = {}): FastifyPluginAsync {
  const root = path.resolve(opts.webDir ?? DEFAULT_WEB_DIR);
  return async (app) => {
    if (!existsSync(path.join(root, 'index.html'))) {
      app.log.warn(`web console not built (${root} is missing): run \`npm run build\` (or \`npm start\`, which builds it) to serve it at /; the API works without it`);
      return;
    }
    // Runs after the application-wide hook that marks every response `no-store`: static files get
    // their own policy. Only the route of this plugin (files and the fallback) passes here.
    app.addHook('onSend', async (request, reply: FastifyReply, payload) => {
      if (reply.statusCode < 400) void reply.header('cache-control', cacheControlFor(pathOf(request)));
      return payload;
    });
    // `serve: false`: only `reply.sendFile` (with `send`'s path checks). Files are looked up per
    // request, so a rebuilt console is served without a restart.
    await app.register(fastifyStatic, { root, serve: false, decorateReply: true });
    const sendOptions = { cacheControl: false, etag: true, lastModified: true, dotfiles: 'deny' as const, index: false as const };
    app.get('/*', { schema: { hide: true } }, async (request, reply) => {
      const p = decodePath(pathOf(request));
      const file = p === null ? null : await fileUnder(root, p);
      if (file) return reply.sendFile(file, root, sendOptions);
      if (p === null || !isConsoleRoute(p)) return reply.callNotFound();
      return reply.type('text/html; charset=utf-8').sendFile('index.html', root, sendOptions);
    });
  };
}
