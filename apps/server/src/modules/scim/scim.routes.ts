/**
 * /scim/v2 (RFC 7644). Its own content type (application/scim+json), its own credential (SCIM client
 * tokens: cookies and API tokens are not accepted here), its own error shape (with scimType). Every
 * call is audited: a change by its transaction's event, a read or a refusal by the onSend hook.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorCode } from '@mamori/contracts';
import type { AppContext } from '../../platform/context.ts';
import { AppError, errorForLog, isAppError } from '../../platform/errors.ts';
import { terminalOf } from '../../platform/http/auth.ts';
import { appendAuditAlone } from '../audit/index.ts';
import type { Actor } from '../identity/index.ts';
import { resolveScimToken } from './scim.clients.ts';
import { ERROR_SCHEMA, SCIM_CONTENT_TYPE, listResponse, resourceTypes, schemas, serviceProviderConfig } from './scim.resources.ts';
import * as scim from './scim.service.ts';

export const SCIM_PREFIX = '/scim/v2';

const SCIM_TYPE: Partial<Record<ErrorCode, string>> = {
  'scim.invalid_filter': 'invalidFilter', 'scim.invalid_path': 'invalidPath', 'scim.invalid_value': 'invalidValue', 'scim.invalid_syntax': 'invalidSyntax',
  'scim.no_target': 'noTarget', 'scim.mutability': 'mutability', 'scim.uniqueness': 'uniqueness', 'scim.too_many': 'tooMany', 'request.invalid': 'invalidValue',
};

declare module 'fastify' {
  interface FastifyRequest {
    scimActor?: Actor;
    scimErrorCode?: string;
  }
}

function scimError(reply: FastifyReply, status: number, detail: string, scimType?: string): FastifyReply {
  return reply.status(status).header('content-type', SCIM_CONTENT_TYPE).send({ schemas: [ERROR_SCHEMA], status: String(status), ...(scimType ? { scimType } : {}), detail });
}

const Query = Type.Object({
  filter: Type.Optional(Type.String({ maxLength: 2000 })),
  startIndex: Type.Optional(Type.Integer()),
  count: Type.Optional(Type.Integer()),
  attributes: Type.Optional(Type.String({ maxLength: 2000 })),
  excludedAttributes: Type.Optional(Type.String({ maxLength: 2000 })),
});
const One = Type.Object({ attributes: Type.Optional(Type.String({ maxLength: 2000 })), excludedAttributes: Type.Optional(Type.String({ maxLength: 2000 })) });
const Id = Type.Object({ id: Type.String({ maxLength: 100 }) });

export function scimRoutes(ctx: AppContext): FastifyPluginAsyncTypebox {
  return async (app) => {
    const base = (r: FastifyRequest) => `${r.protocol}://${r.host}${SCIM_PREFIX}`;
    const actor = (r: FastifyRequest) => r.scimActor!;
    const ifMatch = (r: FastifyRequest) => (typeof r.headers['if-match'] === 'string' ? r.headers['if-match'] : undefined);

    // Entra ID and Okta send application/scim+json, some clients application/json: both parsed here, loosely.
    app.removeContentTypeParser('application/json');
    for (const type of ['application/scim+json', 'application/json']) {
      app.addContentTypeParser(type, { parseAs: 'string' }, (_req, body, done) => {
        try {
          done(null, body === '' ? {} : (JSON.parse(body as string) as unknown));
        } catch {
          done(new AppError('scim.invalid_syntax', 'The body is not valid JSON.'), undefined);
        }
      });
    }

    app.addHook('onRequest', async (request) => {
      const authz = request.headers.authorization;
      const token = typeof authz === 'string' && /^Bearer\s+/i.test(authz) ? authz.replace(/^Bearer\s+/i, '').trim() : null;
      request.scimActor = await resolveScimToken(ctx, token, terminalOf(request), request.id);
    });

    app.addHook('onSend', async (request, reply, payload) => {
      void reply.header('content-type', SCIM_CONTENT_TYPE);
      const a = request.scimActor;
      // Successful changes were audited in their own transaction; reads and refusals are audited here.
      if (a && (request.method === 'GET' || reply.statusCode >= 400)) {
        const status = reply.statusCode;
        await appendAuditAlone(ctx.db, ctx.clock, a, {
          action: request.method === 'GET' ? 'scim.read' : 'scim.provision', decision: 'allow', rule: 'scim.client',
          reason: status < 400 ? 'SCIM read' : 'SCIM request refused', result: status < 400 ? 'ok' : status === 404 ? 'not_found' : 'invalid',
          details: { method: request.method, route: request.routeOptions.url ?? null, status, ...(request.scimErrorCode ? { error: request.scimErrorCode } : {}) },
        });
      }
      return payload;
    });

    app.setErrorHandler((err: Error & { validation?: unknown; statusCode?: number; code?: string }, request, reply) => {
      if (isAppError(err)) {
        request.scimErrorCode = err.code;
        if (err.code === 'auth.required') void reply.header('www-authenticate', 'Bearer realm="mamori-scim"');
        // The message never holds a value from the request (see AppError): safe as the SCIM detail.
        return scimError(reply, err.status, err.message, SCIM_TYPE[err.code]);
      }
      if (err.validation) {
        request.scimErrorCode = 'request.invalid';
        return scimError(reply, 400, 'A query parameter is invalid.', 'invalidValue');
      }
      if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return scimError(reply, 413, 'The body is too large.');
      if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return scimError(reply, 415, 'Send application/scim+json.');
      if (err.statusCode === 400) return scimError(reply, 400, 'The request could not be parsed.', 'invalidSyntax');
      request.log.error({ err: errorForLog(err) }, 'unhandled SCIM error');
      return scimError(reply, 500, `Something went wrong on our side (request ${request.id}).`);
    });
    app.setNotFoundHandler((_request, reply) => scimError(reply, 404, 'No such SCIM endpoint.'));

    // ------------------------------------------------------------ discovery
    app.get('/ServiceProviderConfig', { schema: { tags: ['scim'] } }, async (r) => serviceProviderConfig(base(r)));
    app.get('/ResourceTypes', { schema: { tags: ['scim'] } }, async (r) => { const all = resourceTypes(base(r)); return listResponse(all, all.length, 1); });
    app.get('/ResourceTypes/:id', { schema: { tags: ['scim'], params: Id } }, async (r) => {
      const t = resourceTypes(base(r)).find((x) => x.id === r.params.id);
      if (!t) throw new AppError('not_found', 'No such resource type.');
      return t;
    });
    app.get('/Schemas', { schema: { tags: ['scim'] } }, async (r) => { const all = schemas(base(r)); return listResponse(all, all.length, 1); });
    app.get('/Schemas/:id', { schema: { tags: ['scim'], params: Id } }, async (r) => {
      const s = schemas(base(r)).find((x) => x.id === r.params.id);
      if (!s) throw new AppError('not_found', 'No such schema.');
      return s;
    });

    // ------------------------------------------------------------ Users
    app.get('/Users', { schema: { tags: ['scim'], querystring: Query } }, async (r) => scim.listUsers(ctx, actor(r), base(r), r.query));
    app.get('/Users/:id', { schema: { tags: ['scim'], params: Id, querystring: One } }, async (r, reply) => {
      const w = await scim.getUser(ctx, actor(r), base(r), r.params.id, r.query);
      return reply.header('etag', w.etag).send(w.resource);
    });
    app.post('/Users', { schema: { tags: ['scim'] } }, async (r, reply) => {
      const w = await scim.createUser(ctx, actor(r), base(r), r.body);
      return reply.status(201).header('etag', w.etag).header('location', (w.resource.meta as { location: string }).location).send(w.resource);
    });
    app.put('/Users/:id', { schema: { tags: ['scim'], params: Id } }, async (r, reply) => {
      const w = await scim.replaceUser(ctx, actor(r), base(r), r.params.id, r.body, ifMatch(r));
      return reply.header('etag', w.etag).send(w.resource);
    });
    app.patch('/Users/:id', { schema: { tags: ['scim'], params: Id } }, async (r, reply) => {
      const w = await scim.patchUserResource(ctx, actor(r), base(r), r.params.id, r.body, ifMatch(r));
      return reply.header('etag', w.etag).send(w.resource);
    });
    app.delete('/Users/:id', { schema: { tags: ['scim'], params: Id } }, async (r, reply) => {
      await scim.deleteUser(ctx, actor(r), r.params.id, ifMatch(r));
      return reply.status(204).send();
    });

    // ------------------------------------------------------------ Groups
    app.get('/Groups', { schema: { tags: ['scim'], querystring: Query } }, async (r) => scim.listGroups(ctx, actor(r), base(r), r.query));
    app.get('/Groups/:id', { schema: { tags: ['scim'], params: Id, querystring: One } }, async (r, reply) => {
      const w = await scim.getGroup(ctx, actor(r), base(r), r.params.id, r.query);
      return reply.header('etag', w.etag).send(w.resource);
    });
    app.post('/Groups', { schema: { tags: ['scim'] } }, async (r, reply) => {
      const w = await scim.createGroup(ctx, actor(r), base(r), r.body);
      return reply.status(201).header('etag', w.etag).header('location', (w.resource.meta as { location: string }).location).send(w.resource);
    });
    app.put('/Groups/:id', { schema: { tags: ['scim'], params: Id } }, async (r, reply) => {
      const w = await scim.replaceGroup(ctx, actor(r), base(r), r.params.id, r.body, ifMatch(r));
      return reply.header('etag', w.etag).send(w.resource);
    });
    app.patch('/Groups/:id', { schema: { tags: ['scim'], params: Id } }, async (r, reply) => {
      const w = await scim.patchGroupResource(ctx, actor(r), base(r), r.params.id, r.body, ifMatch(r));
      return reply.header('etag', w.etag).send(w.resource);
    });
    app.delete('/Groups/:id', { schema: { tags: ['scim'], params: Id } }, async (r, reply) => {
      await scim.deleteGroup(ctx, actor(r), r.params.id, ifMatch(r));
      return reply.status(204).send();
    });
  };
}
