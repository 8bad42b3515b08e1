/**
 * An embedded data folder PostgreSQL cannot start from: the error names the folder and says what
 * PostgreSQL said, not only PGlite's "failed to initialize properly" (or "Aborted()" after a PANIC).
 * Two damaged folders: a control file that is not one (as from another version), and the write-ahead
 * log gone (no checkpoint record to recover from).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { openDatabase } from '../src/platform/db/database.ts';
import { tempFolders } from './support/temp.ts';

const tempDir = tempFolders('mamori-start-');

async function damaged(damage: (pgdata: string) => Promise<void>, expect: RegExp): Promise<void> {
  const pgdata = path.join(await tempDir(), 'pgdata');
  const database = await openDatabase({ databaseUrl: null, dataDir: pgdata });
  await database.db.selectNoFrom((eb) => eb.val(1).as('one')).execute();
  await database.close();
  await damage(pgdata);
  await assert.rejects(openDatabase({ databaseUrl: null, dataDir: pgdata }), (e: Error) => {
    assert.ok(e.message.startsWith(`the embedded database in ${pgdata} did not start: `), e.message);
    assert.match(e.message, expect);
    assert.match(e.message, /\(PGlite: .+\)$/);
    return true;
  });
}

test('a control file that is not one: the folder and PostgreSQL\'s FATAL, with its detail', async () => {
  await damaged(
    (pgdata) => writeFile(path.join(pgdata, 'global', 'pg_control'), Buffer.alloc(8192, 7)),
    /FATAL: database files are incompatible with server DETAIL: The database cluster was initialized with PG_CONTROL_VERSION \d+/,
  );
});

test('the write-ahead log gone: the folder and PostgreSQL\'s PANIC', async () => {
  await damaged(async (pgdata) => {
    for (const f of await readdir(path.join(pgdata, 'pg_wal'))) if (/^[0-9A-F]{24}$/.test(f)) await unlink(path.join(pgdata, 'pg_wal', f));
  }, /PANIC: could not locate a valid checkpoint record/);
});
