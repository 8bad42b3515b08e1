/**
 * A fresh, migrated database for one test file: embedded PGlite by default; with DATABASE_URL (an
 * admin URL, as `npm run test:pg` and .ci/run set it) a throwaway database on that PostgreSQL server.
 */
import { createHash, randomBytes } from 'node:crypto';
import { openAsBlob } from 'node:fs';
import { link, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { openDatabase, type Database } from '../../src/platform/db/database.ts';
import { migrate } from '../../src/platform/db/migrate.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const MIGRATIONS = path.resolve(HERE, '../../src/platform/db/migrations');
const CACHE = path.resolve(HERE, '../../../../node_modules/.cache/mamori-test');

/** A name for the migrations as they are (and `extra`, e.g. the engine's version). */
async function migrationsKey(extra: string): Promise<string> {
  const hash = createHash('sha256').update(extra);
  for (const f of (await readdir(MIGRATIONS)).sort()) hash.update(f).update(await readFile(path.join(MIGRATIONS, f)));
  return hash.digest('hex').slice(0, 16);
}

/**
 * A migrated PGlite data directory, made once and kept (keyed by PGlite's version and the migrations'
 * contents) under node_modules/.cache: a fresh PGlite otherwise runs initdb and every migration again
 * in each test file, seconds of the suite's time each. The first test files that find none make it
 * (two at once both write a whole file; the first to finish links it into place and the other's is
 * dropped). Once in place the file is never replaced: test files read it as a Blob backed by the
 * file, which can no longer be read if the file changes under it.
 */
async function migratedTemplate(): Promise<Blob> {
  const pkg = JSON.parse(await readFile(path.resolve(HERE, '../../../../node_modules/@electric-sql/pglite/package.json'), 'utf8')) as { version: string };
  const file = path.join(CACHE, `pglite-migrated-${await migrationsKey(pkg.version)}.tar`);
  try {
    // Backed by the file, not read into a buffer and copied into a Blob first (0.4 s of each test database).
    return await openAsBlob(file);
  } catch {
    const database = await openDatabase({ databaseUrl: null });
    await migrate(database);
    const bytes = Buffer.from(await (await database.dumpDataDir!()).arrayBuffer());
    await database.close();
    await mkdir(CACHE, { recursive: true });
    const part = `${file}.${process.pid}.part`;
    await writeFile(part, bytes);
    try {
      await link(part, file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    } finally {
      await rm(part, { force: true });
    }
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
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  let server: ServerDatabase;
  try {
    server = await createServerDatabase(adminUrl, 'mamori_t', await migratedTemplateDatabase(admin, adminUrl));
  } finally {
    await admin.end();
  }
  const database = await openDatabase({ databaseUrl: server.url, poolSize: 10 });
  // Already at the latest migration: this checks that and applies nothing.
  await migrate(database);
  return {
    ...database,
    url: server.url,
    async drop() {
      await database.close();
      await server.drop();
    },
  };
}

/** A database of its own on the PostgreSQL server of an admin URL: its URL, and how to drop it. */
export type ServerDatabase = { url: string; drop(): Promise<void> };

async function asAdmin(adminUrl: string, statement: string): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(statement);
  } finally {
    await admin.end();
  }
}

/** Creates a database named `prefix` and a random suffix (empty, or a copy of `template`) on the server of `adminUrl`. */
export async function createServerDatabase(adminUrl: string, prefix: string, template?: string): Promise<ServerDatabase> {
  const name = `${prefix.replace(/\W/g, '_')}_${randomBytes(6).toString('hex')}`;
  await asAdmin(adminUrl, `CREATE DATABASE ${name}${template ? ` TEMPLATE ${template}` : ''}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => asAdmin(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

/**
 * On PostgreSQL the same: a migrated template database, made once per server (under an advisory
 * lock, so that concurrent test files wait for the first instead of migrating twice), which each test
 * database is created from. Nobody stays connected to it: CREATE DATABASE … TEMPLATE needs that.
 */
async function migratedTemplateDatabase(admin: pg.Client, adminUrl: string): Promise<string> {
  const name = `mamori_tpl_${await migrationsKey('postgres')}`;
  await admin.query('SELECT pg_advisory_lock(7461238)');
  try {
    const found = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount === 0) {
      const building = `${name}_part`;
      await admin.query(`DROP DATABASE IF EXISTS ${building} WITH (FORCE)`);
      await admin.query(`CREATE DATABASE ${building}`);
      const url = new URL(adminUrl);
      url.pathname = `/${building}`;
      const database = await openDatabase({ databaseUrl: url.toString(), poolSize: 1 });
      try {
        await migrate(database);
      } finally {
        await database.close();
      }
      // Renamed only when complete: a half-migrated template is never used.
      await admin.query(`ALTER DATABASE ${building} RENAME TO ${name}`);
    }
  } finally {
    await admin.query('SELECT pg_advisory_unlock(7461238)');
  }
  return name;
}
