import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AppContext } from '../../platform/context.ts';
import { requireActor } from '../../platform/http/auth.ts';
import { acknowledgeAlert, closeAlert, getAlert, getRules, listAlerts, updateRules } from './monitor.service.ts';
import { ALERT_STATUSES, MonitorRulesSchema, RULE_IDS, SEVERITIES } from './monitor.types.ts';

const literals = <T extends string>(xs: readonly T[]) => Type.Union(xs.map((x) => Type.Literal(x)));
const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });

export function monitorRoutes(ctx: AppContext): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get('/api/alerts', {
      schema: {
        tags: ['monitoring'],
        querystring: Type.Object({
          status: Type.Optional(literals(ALERT_STATUSES)),
          severity: Type.Optional(literals(SEVERITIES)),
          rule: Type.Optional(literals(RULE_IDS)),
          user: Type.Optional(Type.String({ format: 'uuid' })),
          before: Type.Optional(Type.String({ format: 'date-time' })),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })),
        }, { additionalProperties: false }),
      },
    }, async (request) => {
      const q = request.query;
      return listAlerts(ctx, requireActor(request), {
        ...(q.status ? { status: q.status } : {}), ...(q.severity ? { severity: q.severity } : {}), ...(q.rule ? { rule: q.rule } : {}),
        ...(q.user ? { subjectUserId: q.user } : {}), ...(q.before ? { before: new Date(q.before) } : {}), limit: q.limit ?? 50,
      });
    });

    app.get('/api/alerts/:id', { schema: { tags: ['monitoring'], params: IdParams } },
      async (request) => ({ alert: await getAlert(ctx, requireActor(request), request.params.id) }));

    app.post('/api/alerts/:id/acknowledge', {
      schema: { tags: ['monitoring'], params: IdParams, body: Type.Optional(Type.Object({ note: Type.Optional(Type.String({ maxLength: 2000 })) }, { additionalProperties: false })) },
    }, async (request) => ({ alert: await acknowledgeAlert(ctx, requireActor(request), request.params.id, request.body?.note ?? '') }));

    app.post('/api/alerts/:id/close', {
      schema: { tags: ['monitoring'], params: IdParams, body: Type.Object({ note: Type.String({ minLength: 1, maxLength: 2000 }) }, { additionalProperties: false }) },
    }, async (request) => ({ alert: await closeAlert(ctx, requireActor(request), request.params.id, request.body.note) }));

    app.get('/api/monitor/rules', { schema: { tags: ['monitoring'] } }, async (request) => getRules(ctx, requireActor(request)));

    app.put('/api/monitor/rules', {
      schema: { tags: ['monitoring'], body: Type.Object({ rules: MonitorRulesSchema, version: Type.Integer({ minimum: 1 }) }, { additionalProperties: false }) },
    }, async (request) => updateRules(ctx, requireActor(request), request.body.rules, request.body.version));
  };
}
