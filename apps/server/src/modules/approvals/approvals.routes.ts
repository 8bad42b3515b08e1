import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { APPROVAL_KINDS, APPROVAL_STATES, ROLES, type ApprovalKind, type ApprovalState } from '@mamori/contracts';
import type { AppContext } from '../../platform/context.ts';
import { requireActor } from '../../platform/http/auth.ts';
import { authorizeFiling, breakGlass, cancel, decide, fileRequest, getRequest, myRequests, waitingForMe, withApproval } from './approvals.service.ts';
import { listPolicies, updatePolicy } from './approvals.policies.ts';
import { closeReview, history, historyCsv, listReviews } from './approvals.history.ts';

const Uuid = Type.String({ format: 'uuid' });
const lit = <T extends string>(xs: readonly T[]) => Type.Union(xs.map((x) => Type.Literal(x)));
const Id = Type.Object({ id: Uuid });
const Reason = (min: number, max: number) => Type.String({ minLength: min, maxLength: max });

const HistoryQuery = Type.Object({
  kind: Type.Optional(lit(APPROVAL_KINDS)),
  state: Type.Optional(lit(APPROVAL_STATES)),
  from: Type.Optional(Type.String({ format: 'date-time' })),
  to: Type.Optional(Type.String({ format: 'date-time' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
}, { additionalProperties: false });

function historyQuery(q: { kind?: string; state?: string; from?: string; to?: string; limit?: number }) {
  return {
    ...(q.kind ? { kind: q.kind as ApprovalKind } : {}),
    ...(q.state ? { state: q.state as ApprovalState } : {}),
    ...(q.from ? { from: new Date(q.from) } : {}),
    ...(q.to ? { to: new Date(q.to) } : {}),
    ...(q.limit ? { limit: q.limit } : {}),
  };
}

export function approvalsRoutes(ctx: AppContext): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get('/api/approvals/policies', { schema: { tags: ['approvals'] } }, async (request) => ({ policies: await listPolicies(ctx, requireActor(request)) }));

    app.put('/api/approvals/policies/:kind', {
      schema: {
        tags: ['approvals'],
        params: Type.Object({ kind: lit(APPROVAL_KINDS) }),
        body: Type.Object({
          // Zero is refused by the service with its own words (approval.invalid_policy), not only by the schema.
          requiredApprovals: Type.Integer(),
          rejectionsToEnd: Type.Integer(),
          eligibleRoles: Type.Array(lit(ROLES), { uniqueItems: true, maxItems: ROLES.length }),
          eligibleGroupIds: Type.Array(Uuid, { uniqueItems: true, maxItems: 50 }),
          requesterSupervisor: Type.Boolean(),
          requestTtlMinutes: Type.Integer(),
          grantMaxMinutes: Type.Integer(),
          breakGlassUserIds: Type.Array(Uuid, { uniqueItems: true, maxItems: 20 }),
          version: Type.Optional(Type.Integer({ minimum: 1 })),
        }, { additionalProperties: false }),
      },
    }, async (request) => ({ policy: await updatePolicy(ctx, requireActor(request), request.params.kind, request.body) }));

    // The console files `general` requests (something done outside Mamori); other kinds are filed by their modules.
    app.post('/api/approvals/requests', {
      schema: {
        tags: ['approvals'],
        body: Type.Object({
          kind: Type.Literal('general'),
          summary: Reason(1, 300),
          purpose: Reason(1, 500),
          details: Type.Optional(Type.String({ maxLength: 2000 })),
          validForMinutes: Type.Optional(Type.Integer({ minimum: 5, maximum: 43_200 })),
        }, { additionalProperties: false }),
      },
    }, async (request, reply) => {
      const actor = requireActor(request);
      const b = request.body;
      await authorizeFiling(ctx, actor, b.kind);
      const view = await ctx.db.transaction().execute((tx) => fileRequest(ctx, tx, actor, {
        kind: b.kind, summary: b.summary, scope: { purpose: b.purpose, ...(b.details ? { details: b.details } : {}) },
        ...(b.validForMinutes ? { validForMinutes: b.validForMinutes } : {}),
      }));
      return reply.status(201).send({ request: view });
    });

    app.get('/api/approvals/requests', { schema: { tags: ['approvals'] } }, async (request) => ({ requests: await myRequests(ctx, requireActor(request)) }));
    app.get('/api/approvals/inbox', { schema: { tags: ['approvals'] } }, async (request) => ({ requests: await waitingForMe(ctx, requireActor(request)) }));
    app.get('/api/approvals/requests/:id', { schema: { tags: ['approvals'], params: Id } }, async (request) => ({ request: await getRequest(ctx, requireActor(request), request.params.id) }));

    app.post('/api/approvals/requests/:id/approve', {
      schema: { tags: ['approvals'], params: Id, body: Type.Object({ reason: Type.Optional(Reason(0, 1000)) }, { additionalProperties: false }) },
    }, async (request) => ({ request: await decide(ctx, requireActor(request), request.params.id, 'approve', request.body.reason ?? '') }));

    app.post('/api/approvals/requests/:id/reject', {
      schema: { tags: ['approvals'], params: Id, body: Type.Object({ reason: Reason(1, 1000) }, { additionalProperties: false }) },
    }, async (request) => ({ request: await decide(ctx, requireActor(request), request.params.id, 'reject', request.body.reason) }));

    app.post('/api/approvals/requests/:id/cancel', {
      schema: { tags: ['approvals'], params: Id, body: Type.Object({ reason: Type.Optional(Reason(0, 500)) }, { additionalProperties: false }) },
    }, async (request) => ({ request: await cancel(ctx, requireActor(request), request.params.id, request.body.reason ?? '') }));

    app.post('/api/approvals/requests/:id/break-glass', {
      schema: { tags: ['approvals'], params: Id, body: Type.Object({ reason: Reason(1, 1000) }, { additionalProperties: false }) },
    }, async (request) => ({ request: await breakGlass(ctx, requireActor(request), request.params.id, request.body.reason) }));

    // Records that an approved general request was used (once); other kinds are used by their modules.
    app.post('/api/approvals/requests/:id/use', { schema: { tags: ['approvals'], params: Id } }, async (request) => ({
      request: await withApproval(ctx, requireActor(request), request.params.id, { kind: 'general', ref: 'console' }, async (_tx, view) => view),
    }));

    app.get('/api/approvals/history', { schema: { tags: ['approvals'], querystring: HistoryQuery } }, async (request) => ({
      requests: await history(ctx, requireActor(request), historyQuery(request.query), 'json'),
    }));

    app.get('/api/approvals/history.csv', { schema: { tags: ['approvals'], querystring: HistoryQuery } }, async (request, reply) => {
      const views = await history(ctx, requireActor(request), historyQuery(request.query), 'csv');
      const stamp = ctx.clock.now().toISOString().slice(0, 10);
      void reply.header('content-type', 'text/csv; charset=utf-8');
      void reply.header('content-disposition', `attachment; filename="approvals-${stamp}.csv"`);
      return historyCsv(views);
    });

    app.get('/api/approvals/reviews', {
      schema: { tags: ['approvals'], querystring: Type.Object({ open: Type.Optional(Type.Boolean()) }, { additionalProperties: false }) },
    }, async (request) => ({ reviews: await listReviews(ctx, requireActor(request), request.query.open) }));

    app.post('/api/approvals/reviews/:id/close', {
      schema: { tags: ['approvals'], params: Id, body: Type.Object({ note: Reason(1, 2000) }, { additionalProperties: false }) },
    }, async (request) => {
      await closeReview(ctx, requireActor(request), request.params.id, request.body.note);
      return { ok: true };
    });
  };
}
