import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AppContext } from '../../platform/context.ts';
import { requireActor } from '../../platform/http/auth.ts';
import { searchAuditEvents } from './audit.query.ts';
import { latestCheckpoint, proveConsistency, proveInclusion, recordHistory } from './audit.log.ts';
import { integrityStatus, runVerification, startVerification, verificationRun } from './audit.integrity.ts';
import { buildProofBundle } from './audit.bundle.ts';

export function auditRoutes(ctx: AppContext): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get('/api/audit/checkpoint', { schema: { tags: ['audit'] } }, async (request) => ({ checkpoint: await latestCheckpoint(ctx, requireActor(request)) }));

    app.get('/api/audit/proofs/inclusion', {
      schema: { tags: ['audit'], querystring: Type.Object({ index: Type.Integer({ minimum: 0 }), size: Type.Optional(Type.Integer({ minimum: 1 })) }, { additionalProperties: false }) },
    }, async (request) => proveInclusion(ctx, requireActor(request), request.query.index, request.query.size));

    app.get('/api/audit/proofs/consistency', {
      schema: { tags: ['audit'], querystring: Type.Object({ from: Type.Integer({ minimum: 1 }), to: Type.Integer({ minimum: 1 }) }, { additionalProperties: false }) },
    }, async (request) => proveConsistency(ctx, requireActor(request), request.query.from, request.query.to));

    // Verifies and answers when done (scripts, the CLI through a running server); recorded as a run.
    app.post('/api/audit/verify', { schema: { tags: ['audit'] } }, async (request) => ({ report: await runVerification(ctx, requireActor(request), 'api') }));

    app.get('/api/audit/integrity', { schema: { tags: ['audit'] } }, async (request) => integrityStatus(ctx, requireActor(request)));

    // The console's "verify now": a background job, one at a time; its progress is polled.
    app.post('/api/audit/verifications', { schema: { tags: ['audit'] } }, async (request, reply) => reply.status(202).send({ run: await startVerification(ctx, requireActor(request)) }));

    app.get('/api/audit/verifications/:id', {
      schema: { tags: ['audit'], params: Type.Object({ id: Type.String({ format: 'uuid' }) }) },
    }, async (request) => ({ run: await verificationRun(ctx, requireActor(request), request.params.id) }));

    // One event with its inclusion proof, the signed checkpoint and the log key: checkable offline.
    app.get('/api/audit/proofs/bundle', {
      schema: { tags: ['audit'], querystring: Type.Object({ index: Type.Integer({ minimum: 0 }) }, { additionalProperties: false }) },
    }, async (request, reply) => {
      const bundle = await buildProofBundle(ctx, requireActor(request), request.query.index);
      void reply.header('content-disposition', `attachment; filename="mamori-audit-proof-${bundle.leafIndex}.json"`);
      return bundle;
    });

    app.get('/api/audit/records/:id/history', {
      schema: { tags: ['audit'], params: Type.Object({ id: Type.String({ format: 'uuid' }) }) },
    }, async (request) => recordHistory(ctx, requireActor(request), request.params.id));

    app.get('/api/audit/events', {
      schema: {
        tags: ['audit'],
        querystring: Type.Object({
          actor: Type.Optional(Type.String({ format: 'uuid' })),
          action: Type.Optional(Type.String({ maxLength: 64 })),
          dataset: Type.Optional(Type.String({ format: 'uuid' })),
          record: Type.Optional(Type.String({ format: 'uuid' })),
          decision: Type.Optional(Type.Union([Type.Literal('allow'), Type.Literal('deny')])),
          from: Type.Optional(Type.String({ format: 'date-time' })),
          to: Type.Optional(Type.String({ format: 'date-time' })),
          before: Type.Optional(Type.Integer({ minimum: 1 })),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
        }, { additionalProperties: false }),
      },
    }, async (request) => {
      const q = request.query;
      return searchAuditEvents(ctx, requireActor(request), {
        ...(q.actor ? { actorUserId: q.actor } : {}),
        ...(q.action ? { action: q.action } : {}),
        ...(q.dataset ? { datasetId: q.dataset } : {}),
        ...(q.record ? { recordId: q.record } : {}),
        ...(q.decision ? { decision: q.decision } : {}),
        ...(q.from ? { from: new Date(q.from) } : {}),
        ...(q.to ? { to: new Date(q.to) } : {}),
        ...(q.before ? { before: q.before } : {}),
        limit: q.limit ?? 100,
      });
    });
  };
}
