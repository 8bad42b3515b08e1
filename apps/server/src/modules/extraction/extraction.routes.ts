import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Readable } from 'node:stream';
import { EXPORT_FORMATS, SUPPRESSION_KINDS, type ExtractionInput } from '@mamori/contracts';
import type { AppContext } from '../../platform/context.ts';
import { requireActor } from '../../platform/http/auth.ts';
import { getExtraction, myExtractions, previewExtraction, requestExtraction } from './extraction.service.ts';
import { downloadExtraction, type ExtractionSettings } from './extraction.run.ts';
import { addSuppression, listProvisionRecords, listSuppression, removeSuppression } from './extraction.registers.ts';
import { traceFile } from './extraction.trace.ts';

const Uuid = Type.String({ format: 'uuid' });
const DatasetName = Type.String({ pattern: '^[a-z][a-z0-9_-]{0,62}$' });
const FieldName = Type.String({ maxLength: 63 });
const Text = Type.String({ minLength: 1, maxLength: 300 });
const lit = <T extends string>(xs: readonly T[]) => Type.Union(xs.map((x) => Type.Literal(x)));

const ExtractionBody = Type.Object({
  dataset: DatasetName,
  purpose: Type.String({ minLength: 1, maxLength: 100 }),
  fields: Type.Array(FieldName, { minItems: 1, maxItems: 200 }),
  criteria: Type.Array(Type.Object({ field: FieldName, op: Type.Union([Type.Literal('exact'), Type.Literal('prefix')]), value: Type.String({ minLength: 1, maxLength: 1000 }) }, { additionalProperties: false }), { maxItems: 10 }),
  format: lit(EXPORT_FORMATS),
  recipient: Type.Union([
    Type.Object({ kind: Type.Literal('internal') }, { additionalProperties: false }),
    Type.Object({ kind: Type.Literal('third_party'), name: Text, address: Text, representative: Text }, { additionalProperties: false }),
  ]),
}, { additionalProperties: false });

/** Leaked files uploaded for tracing are capped (a fragment is enough; whole exports are fine too). */
export const MAX_TRACE_BYTES = 200 * 1024 * 1024;

export function extractionRoutes(ctx: AppContext, settings: ExtractionSettings): FastifyPluginAsyncTypebox {
  return async (app) => {
    // Filters are POSTed: their values may be personal data and must never appear in URLs.
    app.post('/api/extractions/preview', { schema: { tags: ['extractions'], body: ExtractionBody } }, async (request) => previewExtraction(ctx, requireActor(request), request.body as ExtractionInput));
    app.post('/api/extractions', { schema: { tags: ['extractions'], body: ExtractionBody } }, async (request, reply) => reply.status(201).send({ extraction: await requestExtraction(ctx, requireActor(request), request.body as ExtractionInput) }));
    app.get('/api/extractions', { schema: { tags: ['extractions'] } }, async (request) => ({ extractions: await myExtractions(ctx, requireActor(request)) }));
    app.get('/api/extractions/:id', { schema: { tags: ['extractions'], params: Type.Object({ id: Type.String({ maxLength: 64 }) }) } }, async (request) => ({ extraction: await getExtraction(ctx, requireActor(request), request.params.id) }));
    // No automatic HEAD route: a HEAD would run the handler and spend the one-time download.
    app.get('/api/extractions/:id/download', { exposeHeadRoute: false, schema: { tags: ['extractions'], params: Type.Object({ id: Type.String({ maxLength: 64 }) }) } }, async (request, reply) => {
      const d = await downloadExtraction(ctx, requireActor(request), request.params.id, settings);
      void reply.header('content-type', d.contentType);
      void reply.header('content-disposition', `attachment; filename="${d.fileName}"`);
      return reply.send(Readable.from(d.body));
    });

    app.get('/api/suppression', { schema: { tags: ['extractions'], querystring: Type.Object({ dataset: Type.Optional(DatasetName) }, { additionalProperties: false }) } }, async (request) => ({ entries: await listSuppression(ctx, requireActor(request), request.query.dataset ?? null) }));
    app.post('/api/suppression', {
      schema: { tags: ['extractions'], body: Type.Object({ dataset: DatasetName, kind: lit(SUPPRESSION_KINDS), value: Type.String({ minLength: 1, maxLength: 1000 }), note: Type.String({ maxLength: 500 }) }, { additionalProperties: false }) },
    }, async (request, reply) => reply.status(201).send({ entry: await addSuppression(ctx, requireActor(request), request.body) }));
    app.post('/api/suppression/:id/remove', {
      schema: { tags: ['extractions'], params: Type.Object({ id: Uuid }), body: Type.Object({ reason: Type.String({ maxLength: 500 }) }, { additionalProperties: false }) },
    }, async (request) => {
      await removeSuppression(ctx, requireActor(request), request.params.id, request.body.reason);
      return { ok: true };
    });

    app.get('/api/provision-records', { schema: { tags: ['extractions'], querystring: Type.Object({ recordId: Type.Optional(Uuid) }, { additionalProperties: false }) } }, async (request) => ({ records: await listProvisionRecords(ctx, requireActor(request), request.query.recordId ?? null) }));

    app.post('/api/trace', { bodyLimit: MAX_TRACE_BYTES, schema: { tags: ['extractions'] } }, async (request) => {
      const actor = requireActor(request);
      const chunks: Buffer[] = [];
      for await (const c of request.body as AsyncIterable<Buffer>) chunks.push(c);
      return traceFile(ctx, actor, Buffer.concat(chunks));
    });
  };
}
