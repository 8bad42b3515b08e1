import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AppContext } from '../../platform/context.ts';
import { requireActor } from '../../platform/http/auth.ts';
import { listNotifications, markRead, unreadCount } from './notifications.service.ts';

export function notificationsRoutes(ctx: AppContext): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get('/api/notifications', {
      schema: {
        tags: ['notifications'],
        querystring: Type.Object({ unread: Type.Optional(Type.Boolean()), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })) }, { additionalProperties: false }),
      },
    }, async (request) => listNotifications(ctx, requireActor(request), {
      ...(request.query.unread !== undefined ? { unreadOnly: request.query.unread } : {}),
      ...(request.query.limit !== undefined ? { limit: request.query.limit } : {}),
    }));

    app.get('/api/notifications/unread-count', { schema: { tags: ['notifications'] } }, async (request) => ({ unread: await unreadCount(ctx, requireActor(request)) }));

    app.post('/api/notifications/read', {
      schema: {
        tags: ['notifications'],
        body: Type.Union([
          Type.Object({ ids: Type.Array(Type.String({ format: 'uuid' }), { minItems: 1, maxItems: 200, uniqueItems: true }) }, { additionalProperties: false }),
          Type.Object({ all: Type.Literal(true) }, { additionalProperties: false }),
        ]),
      },
    }, async (request) => {
      const body = request.body as { ids?: string[]; all?: true };
      return { marked: await markRead(ctx, requireActor(request), body.all ? 'all' : body.ids ?? []) };
    });
  };
}
