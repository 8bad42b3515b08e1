/**
 * Numbered SQL migrations, applied in order, each in its own transaction. A landed migration is
 * never edited: its checksum is recorded and a changed file stops the start-up.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import type { Database } from './database.ts';

const MIGRATIONS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');

export async function migrate(database: Database): Promise<string[]> {
  const { db } = database;
  await sql`CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`.execute(db);
  const files = (await readdir(MIGRATIONS_DIR)).filter((f) => /^\d{4}_.+\.sql$/.test(f)).sort();
  const applied = new Map(
    (await sql<{ name: string; checksum: string }>`SELECT name, checksum FROM schema_migrations`.execute(db)).rows.map((r) => [r.name, r.checksum]),
  );
  const done: string[] = [];
  for (const file of files) {
    const text = await readFile(path.join(MIGRATIONS_DIR, file), 'utf8');
    const checksum = createHash('sha256').update(text).digest('hex');
    const previous = applied.get(file);
    if (previous !== undefined) {
      if (previous !== checksum) throw new Error(`migration ${file} was changed after it was applied; add a new migration instead`);
      continue;
    }
    await db.transaction().execute(async (tx) => {
      // Serialise concurrent starters on one PostgreSQL (several nodes); a no-op cost on PGlite.
      await sql`SELECT pg_advisory_xact_lock(7285001)`.execute(tx);
      const again = await sql<{ n: number }>`SELECT count(*)::int AS n FROM schema_migrations WHERE name = ${file}`.execute(tx);
      if ((again.rows[0]?.n ?? 0) > 0) return;
      await sql.raw(text).execute(tx);
      await sql`INSERT INTO schema_migrations (name, checksum) VALUES (${file}, ${checksum})`.execute(tx);
      done.push(file);
    });
  }
  return done;
}
