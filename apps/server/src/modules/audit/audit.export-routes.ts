import { Readable } from 'node:stream';
import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AppContext } from '../../platform/context.ts';
import { requireActor } from '../../platform/http/auth.ts';
import { exportRange, exportStatus } from './audit.export.ts';

const Destination = Type.Object({
  id: Type.String(),
  kind: Type.Union([Type.Literal('syslog'), Type.Literal('https'), Type.Literal('file')]),
  target: Type.String(),
  nextSeq: Type.Integer(),
  lag: Type.Integer(),
  inflightTo: Type.Union([Type.Integer(), Type.Null()]),
  lastSuccessAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  lastError: Type.Union([Type.String(), Type.Null()]),
  lastErrorAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  heartbeatAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});

export function auditExportRoutes(ctx: AppContext): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get('/api/audit/exports', {
      schema: {
        tags: ['audit'],
        description: 'SIEM export destinations: cursor (first seq not yet acknowledged), lag behind the log, last success and error.',
        response: { 200: Type.Object({ treeSize: Type.Integer(), destinations: Type.Array(Destination) }) },
      },
    }, async (request) => exportStatus(ctx, requireActor(request)));

    app.get('/api/audit/export.jsonl', {
      schema: {
        tags: ['audit'],
        description: 'One-off export of integrated events seq `from`..`to` (inclusive) as JSON Lines, each line `{"seq","leafHash","event"}`. Audited.',
        querystring: Type.Object({
          from: Type.Optional(Type.Integer({ minimum: 0 })),
          to: Type.Optional(Type.Integer({ minimum: 0 })),
        }, { additionalProperties: false }),
      },
    }, async (request, reply) => {
      const q = request.query;
      const r = await exportRange(ctx, requireActor(request), { from: q.from ?? 0, ...(q.to === undefined ? {} : { to: q.to }) });
      void reply.header('content-type', 'application/x-ndjson; charset=utf-8');
      void reply.header('x-mamori-seq-first', String(r.first));
      void reply.header('x-mamori-count', String(Math.max(0, r.end - r.first)));
      void reply.header('x-mamori-tree-size', String(r.treeSize));
      return reply.send(Readable.from(r.lines));
    });
  };
}
