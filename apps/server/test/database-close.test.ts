/**
 * Closing the embedded database shuts PostgreSQL down cleanly whether or not it was used (a command
 * that opens the data folder and finds nothing to do). Kysely ends its pool only once a query took a
 * connection from it, so an unused database used to be left open: its control file still said "in
 * production", and the next start had to recover it as after a crash.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openDatabase } from '../src/platform/db/database.ts';

// pg_control's `state` (ControlFileData: system identifier 8 bytes, two uint32 versions, then the state).
const DB_SHUTDOWNED = 1;
const DB_IN_PRODUCTION = 6;
const state = async (pgdata: string) => (await readFile(path.join(pgdata, 'global', 'pg_control'))).readUInt32LE(16);

test('the embedded database is shut down cleanly when closed, used or not', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'mamori-close-'));
  const pgdata = path.join(dir, 'pgdata');
  try {
    const unused = await openDatabase({ databaseUrl: null, dataDir: pgdata });
    await unused.close();
    assert.equal(await state(pgdata), DB_SHUTDOWNED, 'closed without a query: shut down');

    const used = await openDatabase({ databaseUrl: null, dataDir: pgdata });
    await used.db.selectNoFrom((eb) => eb.val(1).as('one')).execute();
    assert.equal(await state(pgdata), DB_IN_PRODUCTION, 'running while open');
    await used.close();
    assert.equal(await state(pgdata), DB_SHUTDOWNED, 'closed after queries: shut down');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
