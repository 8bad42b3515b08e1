/**
 * The HTTP application: Fastify with schema validation on every route (TypeBox → JSON Schema, also
 * served as OpenAPI 3.1), one error handler, actor resolution before every /api route, and each
 * module's routes.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import cookie from '@fastify/cookie';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import path from 'node:path';
import { sql } from 'kysely';
import type { AppContext } from './platform/context.ts';
import { installErrorHandler } from './platform/http/errors.ts';
import { SESSION_COOKIE, resolveActor } from './platform/http/auth.ts';
import { createMetrics } from './platform/http/metrics.ts';
import { leanResponder, leanServerFactory, type LeanRoutes } from './platform/http/lean.ts';
import { lazyValidation } from './platform/http/lazy-validation.ts';
import { installSecurityHeaders, webConsole } from './platform/http/static.ts';
import { identityRoutes } from './modules/identity/identity.routes.ts';
import { oidcRoutes } from './modules/identity/identity.oidc-routes.ts';
import { passkeyRoutes } from './modules/identity/identity.passkey-routes.ts';
import { vaultRoutes } from './modules/vault/vault.routes.ts';
import { leanRecordRead, RECORD_READ_ROUTE } from './modules/vault/vault.read-route.ts';
import { auditRoutes } from './modules/audit/audit.routes.ts';
import { approvalsRoutes } from './modules/approvals/index.ts';
import { notificationsRoutes } from './modules/notifications/index.ts';
import { auditExportRoutes } from './modules/audit/audit.export-routes.ts';
import { registerExportMetrics } from './modules/audit/audit.export-metrics.ts';
import { outboxRoutes, registerOutboxMetrics } from './modules/outbox/index.ts';
import { monitorRoutes, registerMonitorMetrics } from './modules/monitor/index.ts';
import { SCIM_PREFIX, scimAdminRoutes, scimRoutes } from './modules/scim/index.ts';
import { extractionRoutes } from './modules/extraction/index.ts';
import { transmissionsRoutes, type TransmissionSettings } from './modules/transmissions/index.ts';
import { lifecycleRoutes } from './modules/lifecycle/index.ts';

export type AppOptions = {
  secureCookies: boolean;
  trustProxy: boolean;
  dataDir: string;
  logger?: boolean;
  /** The built web console (default apps/web/dist); served at `/` when present. */
  webDir?: string;
  /** The outbound gateway's limits (compose); defaults when absent. */
  transmissions?: TransmissionSettings;
  /**
   * Answer `GET /api/datasets/:name/records/:id` by its lean route (ADR 0012; default true). false:
   * every request goes through Fastify's route and hooks (the gate bench compares the two).
   */
  leanRoutes?: boolean;
};

/** 25 MiB: a common mail system's limit for one message. */
export const DEFAULT_MESSAGE_BYTES = 25 * 1024 * 1024;

/** JSON bodies are small; imports stream separately with their own limit. */
export const JSON_BODY_LIMIT = 1024 * 1024;

export async function buildApp(ctx: AppContext, options: AppOptions): Promise<FastifyInstance> {
  const lean: LeanRoutes = { routes: [], closing: false };
  // Each route's validators are compiled at its first request, not all before listening.
  const validation = lazyValidation();
  const app = Fastify({
    loggerInstance: ctx.logger as unknown as FastifyBaseLogger,
    trustProxy: options.trustProxy,
    bodyLimit: JSON_BODY_LIMIT,
    // Unknown properties are rejected (not silently dropped) and types are not coerced in bodies.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false } },
    schemaController: { compilersFactory: { buildValidator: validation.buildValidator } },
    requestIdHeader: false,
    genReqId: () => crypto.randomUUID(),
    // The audited record read is answered before Fastify's router (ADR 0012, platform/http/lean.ts).
    serverFactory: leanServerFactory(lean),
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as FastifyInstance;

  app.decorate('compileAllValidators', validation.compileAll);
  installErrorHandler(app);
  await app.register(cookie);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Mamori API', version: '0.1.0', description: 'Mamori (守り) personal-data protection platform' },
      components: {
        securitySchemes: {
          session: { type: 'apiKey', in: 'cookie', name: 'mamori_session' },
          token: { type: 'http', scheme: 'bearer' },
        },
      },
      security: [{ session: [] }, { token: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  // Import uploads arrive as raw streams (CSV, TSV, JSON Lines); the route spools them to disk.
  for (const type of ['text/csv', 'text/tab-separated-values', 'application/x-ndjson', 'application/jsonl', 'application/octet-stream', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet']) {
    app.addContentTypeParser(type, (_req, payload, done) => done(null, payload));
  }

  const metrics = createMetrics(app);
  registerExportMetrics(ctx, metrics.registry);
  registerOutboxMetrics(metrics.registry, ctx);
  registerMonitorMetrics(metrics.registry, ctx);

  app.addHook('onRequest', async (request) => {
    request.actor = null;
    request.sessionHash = null;
    request.csrfToken = null;
    const url = request.url;
    // Public: the password login and the SSO flow (the person has no session yet).
    if (!url.startsWith('/api/') || url === '/api/auth/login' || url === '/api/auth/oidc' || url.startsWith('/api/auth/oidc/') || url.startsWith('/api/auth/oidc?')) return;
    // "Am I signed in?" without any credential is a question, not an error: the console asks it first.
    if (url === '/api/auth/me' && request.method === 'GET' && !request.headers.authorization && !request.cookies?.[SESSION_COOKIE]) return;
    await resolveActor(ctx, request);
  });
  app.addHook('onSend', (request, reply, payload, done) => {
    // The id the audit event of this request carries (`request`): lets a client or an operator find
    // the event of a response it got (support, the crash test's acknowledged-request check).
    void reply.header('x-request-id', request.id);
    // API responses may carry personal data: never cache them anywhere (files of the console set
    // their own policy). nosniff, no-referrer and the rest: installSecurityHeaders.
    void reply.header('cache-control', 'no-store');
    done(null, payload);
  });
  installSecurityHeaders(app, { hsts: options.secureCookies });
  // Once closing, every request goes to Fastify (which answers 503 to new ones).
  app.addHook('preClose', (done) => {
    lean.closing = true;
    done();
  });

  app.get('/healthz', { schema: { hide: true } }, async () => {
    await sql`SELECT 1`.execute(ctx.db);
    return { status: 'ok' };
  });
  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    void reply.header('content-type', metrics.contentType);
    return metrics.render();
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  await app.register(identityRoutes(ctx, { secureCookies: options.secureCookies }));
  await app.register(oidcRoutes(ctx, { secureCookies: options.secureCookies }));
  await app.register(passkeyRoutes(ctx));
  await app.register(vaultRoutes(ctx, { spoolDir: path.join(options.dataDir, 'spool') }));
  await app.register(auditRoutes(ctx));
  await app.register(approvalsRoutes(ctx));
  await app.register(notificationsRoutes(ctx));
  await app.register(auditExportRoutes(ctx));
  await app.register(outboxRoutes(ctx));
  await app.register(monitorRoutes(ctx));
  await app.register(scimAdminRoutes(ctx));
  await app.register(lifecycleRoutes(ctx));
  await app.register(scimRoutes(ctx), { prefix: SCIM_PREFIX });
  await app.register(extractionRoutes(ctx, { dir: path.join(options.dataDir, 'exports') }));
  await app.register(transmissionsRoutes(ctx, options.transmissions ?? { relay: null, maxBytes: DEFAULT_MESSAGE_BYTES, messageIdDomain: 'mamori.local' }));
  // Last: the console's SPA fallback must not shadow any API route.
  await app.register(webConsole(options.webDir ? { webDir: options.webDir } : {}));

  // The lean twin of GET /api/datasets/:name/records/:id (vault.routes.ts): same service, same answers.
  if (options.leanRoutes !== false) {
    const run = leanResponder({ hsts: options.secureCookies, trustProxy: options.trustProxy, log: app.log, observe: metrics.forRoute(RECORD_READ_ROUTE, 'GET') });
    lean.routes.push(leanRecordRead(ctx, { run, parseCookie: (header) => app.parseCookie(header) }));
  }
  return app;
}
