/** The joiners / movers / leavers timeline for the console (`lifecycle.read`). */
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { LIFECYCLE_KINDS } from '@mamori/contracts';
import type { AppContext } from '../../platform/context.ts';
import { requireActor } from '../../platform/http/auth.ts';
import { lifecycleTimeline } from './lifecycle.timeline.ts';

export function lifecycleRoutes(ctx: AppContext): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get('/api/lifecycle/timeline', {
      schema: {
        tags: ['users'],
        description: 'Joiners, movers, leavers, dispatch changes, reactivations and SSO role changes, newest first',
        querystring: Type.Object({
          userId: Type.Optional(Type.String({ format: 'uuid' })),
          kind: Type.Optional(Type.Array(Type.Union(LIFECYCLE_KINDS.map((k) => Type.Literal(k))), { maxItems: LIFECYCLE_KINDS.length })),
          from: Type.Optional(Type.String({ format: 'date-time' })),
          to: Type.Optional(Type.String({ format: 'date-time' })),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
        }, { additionalProperties: false }),
      },
    }, async (request) => {
      const q = request.query;
      return {
        events: await lifecycleTimeline(ctx, requireActor(request), {
          ...(q.userId ? { userId: q.userId } : {}), ...(q.kind ? { kinds: q.kind } : {}),
          ...(q.from ? { from: new Date(q.from) } : {}), ...(q.to ? { to: new Date(q.to) } : {}), ...(q.limit ? { limit: q.limit } : {}),
        }),
      };
    });
  };
}
