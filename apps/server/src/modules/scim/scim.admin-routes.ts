/** Console and CLI side of SCIM (under /api, with a session or API token): clients, tokens, the provisioning log. */
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AppContext } from '../../platform/context.ts';
import { requireActor } from '../../platform/http/auth.ts';
import { createClientToken, listClients, provisioningLog, revokeToken } from './scim.clients.ts';

export function scimAdminRoutes(ctx: AppContext): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get('/api/scim/clients', { schema: { tags: ['scim'] } }, async (r) => ({ clients: await listClients(ctx, requireActor(r)) }));
    app.post('/api/scim/clients', {
      schema: { tags: ['scim'], body: Type.Object({ name: Type.String({ minLength: 1, maxLength: 60 }) }, { additionalProperties: false }) },
    }, async (r, reply) => reply.status(201).send(await createClientToken(ctx, requireActor(r), r.body.name)));
    app.post('/api/scim/tokens/:id/revoke', { schema: { tags: ['scim'], params: Type.Object({ id: Type.String({ format: 'uuid' }) }) } }, async (r) => {
      await revokeToken(ctx, requireActor(r), r.params.id);
      return { ok: true };
    });
    app.get('/api/scim/log', {
      schema: { tags: ['scim'], querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })) }, { additionalProperties: false }) },
    }, async (r) => ({ events: await provisioningLog(ctx, requireActor(r), r.query.limit ?? 100) }));
  };
}
