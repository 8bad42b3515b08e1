import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { CLASSIFICATIONS, FIELD_KINDS, SEARCH_MODES } from '@mamori/contracts';
import { createWriteStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { randomBytes } from 'node:crypto';
import type { AppContext } from '../../platform/context.ts';
import { requireActor } from '../../platform/http/auth.ts';
import { MAX_FIELDS, createDataset, getDataset, listDatasets } from './vault.datasets.ts';
import { createGrant, expireGrant, listGrants, revokeGrant } from './vault.grants.ts';
import { importRecords } from './vault.import.ts';
import { importLines, PROGRESS_TYPE, type ImportRun } from './vault.import-stream.ts';
import { splitImportBatches, type ImportFormat } from './vault.import-parse.ts';
import { buildLedger } from './vault.ledger.ts';
import { createRecord, deleteRecord, MAX_PAGE_SIZE, readRecord, searchRecords, unmaskField, updateRecord } from './vault.records.ts';

const Uuid = Type.String({ format: 'uuid' });
const DatasetName = Type.String({ pattern: '^[a-z][a-z0-9_-]{0,62}$' });
const Purpose = Type.String({ minLength: 1, maxLength: 100 });
const Values = Type.Record(Type.String({ pattern: '^[a-z][a-z0-9_]{0,62}$' }), Type.String({ maxLength: 1000 }), { maxProperties: 200 });
const lit = <T extends string>(xs: readonly T[]) => Type.Union(xs.map((x) => Type.Literal(x)));

/** Import uploads are capped and spooled to disk: the import's transaction then reads at disk speed, not at the client's upload speed. */
export const MAX_IMPORT_BYTES = 2 * 1024 * 1024 * 1024;

export function vaultRoutes(ctx: AppContext, opts: { spoolDir: string }): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get('/api/datasets', { schema: { tags: ['datasets'] } }, async (request) => ({ datasets: await listDatasets(ctx, requireActor(request)) }));

    app.post('/api/datasets', {
      schema: {
        tags: ['datasets'],
        body: Type.Object({
          name: DatasetName,
          labelJa: Type.String({ minLength: 1, maxLength: 200 }),
          labelEn: Type.String({ minLength: 1, maxLength: 200 }),
          description: Type.Optional(Type.String({ maxLength: 2000 })),
          ownerUserId: Uuid,
          departmentId: Type.Optional(Type.Union([Uuid, Type.Null()])),
          purposes: Type.Array(Purpose, { minItems: 1, maxItems: 50, uniqueItems: true }),
          source: Type.Optional(Type.String({ maxLength: 1000 })),
          storageLocation: Type.Optional(Type.String({ maxLength: 100 })),
          vdiOnly: Type.Optional(Type.Boolean()),
          fields: Type.Array(Type.Object({
            name: Type.String({ maxLength: 63 }),
            labelJa: Type.String({ minLength: 1, maxLength: 200 }),
            labelEn: Type.String({ minLength: 1, maxLength: 200 }),
            classification: lit(CLASSIFICATIONS),
            kind: lit(FIELD_KINDS),
            search: lit(SEARCH_MODES),
          }, { additionalProperties: false }), { minItems: 1, maxItems: MAX_FIELDS }),
        }, { additionalProperties: false }),
      },
    }, async (request, reply) => reply.status(201).send({ dataset: await createDataset(ctx, requireActor(request), request.body) }));

    app.get('/api/datasets/:name', { schema: { tags: ['datasets'], params: Type.Object({ name: DatasetName }) } }, async (request) => ({ dataset: await getDataset(ctx, requireActor(request), request.params.name) }));

    app.get('/api/datasets/:name/grants', { schema: { tags: ['grants'], params: Type.Object({ name: DatasetName }) } }, async (request) => ({ grants: await listGrants(ctx, requireActor(request), request.params.name) }));

    app.post('/api/datasets/:name/grants', {
      schema: {
        tags: ['grants'],
        params: Type.Object({ name: DatasetName }),
        body: Type.Object({
          subjectType: Type.Union([Type.Literal('user'), Type.Literal('group')]),
          subjectId: Uuid,
          fields: Type.Array(Type.String({ maxLength: 63 }), { minItems: 1, maxItems: 200, uniqueItems: true }),
          unmaskFields: Type.Optional(Type.Array(Type.String({ maxLength: 63 }), { maxItems: 200, uniqueItems: true })),
          purposes: Type.Array(Purpose, { minItems: 1, maxItems: 50, uniqueItems: true }),
          canWrite: Type.Optional(Type.Boolean()),
          validFrom: Type.Optional(Type.String({ format: 'date-time' })),
          validUntil: Type.String({ format: 'date-time' }),
          reason: Type.String({ minLength: 1, maxLength: 500 }),
        }, { additionalProperties: false }),
      },
    }, async (request, reply) => {
      const b = request.body;
      const grant = await createGrant(ctx, requireActor(request), request.params.name, {
        ...b, validFrom: b.validFrom ? new Date(b.validFrom) : undefined, validUntil: new Date(b.validUntil),
      } as Parameters<typeof createGrant>[3]);
      return reply.status(201).send({ grant });
    });

    app.post('/api/grants/:id/revoke', {
      schema: { tags: ['grants'], params: Type.Object({ id: Uuid }), body: Type.Object({ reason: Type.String({ maxLength: 500 }) }, { additionalProperties: false }) },
    }, async (request) => {
      await revokeGrant(ctx, requireActor(request), request.params.id, request.body.reason);
      return { ok: true };
    });

    app.post('/api/grants/:id/expire', {
      schema: {
        tags: ['grants'],
        params: Type.Object({ id: Uuid }),
        body: Type.Object({ validUntil: Type.String({ format: 'date-time' }), reason: Type.String({ maxLength: 500 }) }, { additionalProperties: false }),
      },
    }, async (request) => ({ grant: await expireGrant(ctx, requireActor(request), request.params.id, new Date(request.body.validUntil), request.body.reason) }));

    // Searches are POSTed: search values are personal data and must never appear in URLs or access logs.
    app.post('/api/datasets/:name/records/search', {
      schema: {
        tags: ['records'],
        params: Type.Object({ name: DatasetName }),
        body: Type.Object({
          purpose: Purpose,
          criteria: Type.Array(Type.Object({ field: Type.String({ maxLength: 63 }), op: Type.Union([Type.Literal('exact'), Type.Literal('prefix')]), value: Type.String({ minLength: 1, maxLength: 1000 }) }, { additionalProperties: false }), { maxItems: 10 }),
          after: Type.Optional(Type.Union([Uuid, Type.Null()])),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE })),
        }, { additionalProperties: false }),
      },
    }, async (request) => searchRecords(ctx, requireActor(request), request.params.name, request.body));

    app.get('/api/datasets/:name/records/:id', {
      schema: { tags: ['records'], params: Type.Object({ name: DatasetName, id: Type.String({ maxLength: 64 }) }), querystring: Type.Object({ purpose: Type.Optional(Purpose) }, { additionalProperties: false }) },
    }, async (request) => ({ record: await readRecord(ctx, requireActor(request), request.params.name, request.params.id, request.query.purpose ?? '') }));

    app.post('/api/datasets/:name/records/:id/unmask', {
      schema: { tags: ['records'], params: Type.Object({ name: DatasetName, id: Type.String({ maxLength: 64 }) }), body: Type.Object({ field: Type.String({ maxLength: 63 }), purpose: Purpose }, { additionalProperties: false }) },
    }, async (request) => unmaskField(ctx, requireActor(request), request.params.name, request.params.id, request.body.field, request.body.purpose));

    app.post('/api/datasets/:name/records', {
      schema: { tags: ['records'], params: Type.Object({ name: DatasetName }), body: Type.Object({ values: Values }, { additionalProperties: false }) },
    }, async (request, reply) => reply.status(201).send(await createRecord(ctx, requireActor(request), request.params.name, request.body.values)));

    app.patch('/api/datasets/:name/records/:id', {
      schema: { tags: ['records'], params: Type.Object({ name: DatasetName, id: Type.String({ maxLength: 64 }) }), body: Type.Object({ values: Values, version: Type.Optional(Type.Integer({ minimum: 1 })) }, { additionalProperties: false }) },
    }, async (request) => updateRecord(ctx, requireActor(request), request.params.name, request.params.id, request.body.values, request.body.version));

    app.delete('/api/datasets/:name/records/:id', {
      schema: { tags: ['records'], params: Type.Object({ name: DatasetName, id: Type.String({ maxLength: 64 }) }) },
    }, async (request) => {
      await deleteRecord(ctx, requireActor(request), request.params.name, request.params.id);
      return { ok: true };
    });

    app.post('/api/datasets/:name/import', {
      bodyLimit: MAX_IMPORT_BYTES,
      schema: {
        tags: ['records'],
        description: 'Imports the body (CSV in UTF-8, UTF-8 with BOM or Shift_JIS, TSV, or JSON Lines) into the dataset: every row or none; '
          + '`import.invalid` (422) names each bad line and field, never a value. With `Accept: application/x-ndjson` the answer, once the '
          + 'upload is in, is JSON Lines: `{"progress":{"phase","rows","bytes","totalBytes"}}` as the import goes (phases `write`, then '
          + '`index` when the search index is rebuilt, `commit`, `done`; the last one again after 10 s without news), then one last line: `{"result":{"imported","firstId","lastId"}}`, '
          + 'or `{"status",…,"error":{…}}` with the status and error body the plain answer would have had.',
        params: Type.Object({ name: DatasetName }),
        querystring: Type.Object({ format: Type.Union([Type.Literal('csv'), Type.Literal('tsv'), Type.Literal('jsonl')]) }, { additionalProperties: false }),
      },
    }, async (request, reply) => {
      const actor = requireActor(request);
      await mkdir(opts.spoolDir, { recursive: true, mode: 0o700 });
      const file = path.join(opts.spoolDir, `import-${randomBytes(8).toString('hex')}`);
      const removeFile = () => rm(file, { force: true });
      let handedOver = false;
      try {
        await pipeline(request.body as NodeJS.ReadableStream, createWriteStream(file, { mode: 0o600 }));
        const format = request.query.format as ImportFormat;
        const { size } = await stat(file);
        const run: ImportRun = (onBytes, onProgress) => importRecords(ctx, actor, request.params.name, () => splitImportBatches(createReadStream(file), format, { onBytes }), onProgress, { sourceBytes: size });
        if (!(request.headers.accept ?? '').includes(PROGRESS_TYPE)) return await run(() => undefined, () => undefined);
        handedOver = true; // the stream removes the file when the import is over
        return reply.header('content-type', `${PROGRESS_TYPE}; charset=utf-8`).send(importLines(size, run, request.id, request.log, removeFile));
      } finally {
        if (!handedOver) await removeFile();
      }
    });

    app.get('/api/ledger', { schema: { tags: ['datasets'] } }, async (request) => buildLedger(ctx, requireActor(request)));
  };
}
