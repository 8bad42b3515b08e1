/**
 * A fresh, migrated database for one test file: embedded PGlite by default; with DATABASE_URL (an
 * admin URL, as `npm run test:pg` and .ci/run set it) a throwaway database on that PostgreSQL server.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openDatabase, type Database } from '../../src/platform/db/database.ts';
import { migrate } from '../../src/platform/db/migrate.ts';

export type TestDatabase = Database & { url: string | null; drop(): Promise<void> };

export async function openTestDatabase(): Promise<TestDatabase> {
  const adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    const database = await openDatabase({ databaseUrl: null });
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
