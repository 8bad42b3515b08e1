import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AppContext } from '../../platform/context.ts';
import { requireActor } from '../../platform/http/auth.ts';
import { outboxStatus } from './outbox.service.ts';

export function outboxRoutes(ctx: AppContext): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get('/api/outbox/status', { schema: { tags: ['outbox'], description: 'Queued, sent and failed deliveries per kind, and whether this node can deliver them' } },
      async (request) => ({ kinds: await outboxStatus(ctx, requireActor(request)) }));
  };
}
