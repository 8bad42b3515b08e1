import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { DLP_KINDS, REVIEW_VERDICTS, ROLES, TRANSMISSION_STATES, type TransmissionRules, type TransmissionState } from '@mamori/contracts';
import type { AppContext } from '../../platform/context.ts';
import { requireActor } from '../../platform/http/auth.ts';
import { cancelTransmission, compose, confirm, getTransmission, myTransmissions, type TransmissionSettings } from './transmissions.service.ts';
import { register, registerCsv } from './transmissions.register.ts';
import { getRules, updateRules } from './transmissions.settings.ts';
import { getReview, listReviews, markItem, reviewCsv } from './transmissions.review.ts';

const Uuid = Type.String({ format: 'uuid' });
const Id = Type.Object({ id: Uuid });
const lit = <T extends string>(xs: readonly T[]) => Type.Union(xs.map((x) => Type.Literal(x)));
const Address = Type.String({ minLength: 3, maxLength: 254 });

const ComposeBody = Type.Object({
  to: Type.Array(Address, { minItems: 1, maxItems: 100 }),
  cc: Type.Array(Address, { maxItems: 100 }),
  subject: Type.String({ minLength: 1, maxLength: 250 }),
  body: Type.String({ maxLength: 1_000_000 }),
  attachments: Type.Array(Type.Object({
    name: Type.String({ minLength: 1, maxLength: 255 }),
    contentType: Type.String({ maxLength: 200 }),
    contentBase64: Type.String(),
  }, { additionalProperties: false }), { maxItems: 20 }),
}, { additionalProperties: false });

const RulesBody = Type.Object({
  internalDomains: Type.Array(Type.String({ maxLength: 253 }), { maxItems: 50 }),
  blockKinds: Type.Array(lit(DLP_KINDS), { uniqueItems: true }),
  approvalKinds: Type.Array(lit(DLP_KINDS), { uniqueItems: true }),
  minConfidence: Type.Number({ minimum: 0, maximum: 1 }),
  directInternal: Type.Boolean(),
  review: Type.Object({
    periodDays: Type.Integer(),
    samplePercent: Type.Integer(),
    graceDays: Type.Integer(),
    reviewerRoles: Type.Array(lit(ROLES), { uniqueItems: true }),
  }, { additionalProperties: false }),
  version: Type.Integer({ minimum: 1 }),
}, { additionalProperties: false });

const RegisterQuery = Type.Object({
  state: Type.Optional(lit(TRANSMISSION_STATES)),
  from: Type.Optional(Type.String({ format: 'date-time' })),
  to: Type.Optional(Type.String({ format: 'date-time' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
}, { additionalProperties: false });

function registerQuery(q: { state?: string; from?: string; to?: string; limit?: number }) {
  return {
    ...(q.state ? { state: q.state as TransmissionState } : {}),
    ...(q.from ? { from: new Date(q.from) } : {}),
    ...(q.to ? { to: new Date(q.to) } : {}),
    ...(q.limit ? { limit: q.limit } : {}),
  };
}

export function transmissionsRoutes(ctx: AppContext, settings: TransmissionSettings): FastifyPluginAsyncTypebox {
  return async (app) => {
    // Attachments arrive base64 in JSON: the body limit is the message limit plus the encoding's third.
    const bodyLimit = Math.ceil(settings.maxBytes * 1.4) + 2 * 1024 * 1024;
    app.post('/api/transmissions', { bodyLimit, schema: { tags: ['transmissions'], body: ComposeBody } }, async (request, reply) => (
      reply.status(201).send({ transmission: await compose(ctx, requireActor(request), settings, request.body) })
    ));
    app.get('/api/transmissions', { schema: { tags: ['transmissions'] } }, async (request) => ({ transmissions: await myTransmissions(ctx, requireActor(request)) }));

    app.get('/api/transmissions/register', { schema: { tags: ['transmissions'], querystring: RegisterQuery } }, async (request) => ({
      transmissions: await register(ctx, requireActor(request), registerQuery(request.query), 'json'),
    }));
    app.get('/api/transmissions/register.csv', { schema: { tags: ['transmissions'], querystring: RegisterQuery } }, async (request, reply) => {
      const views = await register(ctx, requireActor(request), registerQuery(request.query), 'csv');
      void reply.header('content-type', 'text/csv; charset=utf-8');
      void reply.header('content-disposition', `attachment; filename="transmissions-${ctx.clock.now().toISOString().slice(0, 10)}.csv"`);
      return registerCsv(views);
    });

    app.get('/api/transmissions/rules', { schema: { tags: ['transmissions'] } }, async (request) => ({ rules: await getRules(ctx, requireActor(request)) }));
    app.put('/api/transmissions/rules', { schema: { tags: ['transmissions'], body: RulesBody } }, async (request) => {
      const { version, ...rules } = request.body;
      return { rules: await updateRules(ctx, requireActor(request), rules as TransmissionRules, version) };
    });

    app.get('/api/transmissions/reviews', { schema: { tags: ['transmissions'] } }, async (request) => ({ reviews: await listReviews(ctx, requireActor(request)) }));
    app.get('/api/transmissions/reviews/:id', { schema: { tags: ['transmissions'], params: Id } }, async (request) => getReview(ctx, requireActor(request), request.params.id));
    app.get('/api/transmissions/reviews/:id/csv', { schema: { tags: ['transmissions'], params: Id } }, async (request, reply) => {
      const r = await getReview(ctx, requireActor(request), request.params.id, 'csv');
      void reply.header('content-type', 'text/csv; charset=utf-8');
      void reply.header('content-disposition', `attachment; filename="transmission-review-${r.review.periodStart.slice(0, 10)}.csv"`);
      return reviewCsv(r);
    });
    app.post('/api/transmissions/reviews/:id/items/:transmissionId', {
      schema: {
        tags: ['transmissions'],
        params: Type.Object({ id: Uuid, transmissionId: Uuid }),
        body: Type.Object({ verdict: lit(REVIEW_VERDICTS), note: Type.String({ maxLength: 2000 }) }, { additionalProperties: false }),
      },
    }, async (request) => ({ item: await markItem(ctx, requireActor(request), request.params.id, request.params.transmissionId, request.body.verdict, request.body.note) }));

    app.get('/api/transmissions/:id', { schema: { tags: ['transmissions'], params: Id } }, async (request) => ({ transmission: await getTransmission(ctx, requireActor(request), request.params.id) }));
    app.post('/api/transmissions/:id/confirm', { schema: { tags: ['transmissions'], params: Id } }, async (request) => ({ transmission: await confirm(ctx, requireActor(request), request.params.id) }));
    app.post('/api/transmissions/:id/cancel', { schema: { tags: ['transmissions'], params: Id } }, async (request) => ({ transmission: await cancelTransmission(ctx, requireActor(request), request.params.id) }));
  };
}
