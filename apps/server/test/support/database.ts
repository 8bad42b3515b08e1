/**
 * A fresh, migrated database for one test file: embedded PGlite by default; with DATABASE_URL (an
 * admin URL, as `npm run test:pg` and .ci/run set it) a throwaway database on that PostgreSQL server.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { openDatabase, type Database } from '../../src/platform/db/database.ts';
import { migrate } from '../../src/platform/db/migrate.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const MIGRATIONS = path.resolve(HERE, '../../src/platform/db/migrations');
const CACHE = path.resolve(HERE, '../../../../node_modules/.cache/mamori-test');

/**
 * A migrated PGlite data directory, made once and kept (keyed by PGlite's version and the migrations'
 * contents) under node_modules/.cache: a fresh PGlite otherwise runs initdb and every migration again
 * in each test file, seconds of the suite's time each. The first test files that find none make it
 * (two at once both write a whole file and rename it into place: either is complete).
 */
async function migratedTemplate(): Promise<Blob> {
  const hash = createHash('sha256');
  const pkg = JSON.parse(await readFile(path.resolve(HERE, '../../../../node_modules/@electric-sql/pglite/package.json'), 'utf8')) as { version: string };
  hash.update(pkg.version);
  for (const f of (await readdir(MIGRATIONS)).sort()) hash.update(f).update(await readFile(path.join(MIGRATIONS, f)));
  const file = path.join(CACHE, `pglite-migrated-${hash.digest('hex').slice(0, 16)}.tar`);
  try {
    return new Blob([await readFile(file)]);
  } catch {
    const database = await openDatabase({ databaseUrl: null });
    await migrate(database);
    const bytes = Buffer.from(await (await database.dumpDataDir!()).arrayBuffer());
    await database.close();
    await mkdir(CACHE, { recursive: true });
    const part = `${file}.${process.pid}.part`;
    await writeFile(part, bytes);
    await rename(part, file);
    return new Blob([bytes]);
  }
}

export type TestDatabase = Database & { url: string | null; drop(): Promise<void> };

export async function openTestDatabase(): Promise<TestDatabase> {
  const adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    const database = await openDatabase({ databaseUrl: null, loadDataDir: await migratedTemplate() });
    // Already at the latest migration: this checks that and applies nothing.
    await migrate(database);
    return { ...database, url: null, drop: () => database.close() };
  }
  const name = `mamori_t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const database = await openDatabase({ databaseUrl: url.toString(), poolSize: 10 });
  await migrate(database);
  return {
    ...database,
    url: url.toString(),
    async drop() {
      await database.close();
      const a = new pg.Client({ connectionString: adminUrl });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    },
  };
}
