/**
 * A long-held mutual exclusion between Mamori nodes (one SIEM exporter per destination).
 *
 * PostgreSQL: a session advisory lock on a connection of its own, held for as long as the work runs.
 * If the node dies its connection closes and the lock is free at once; if the connection breaks, the
 * holder sees `lost` and stops. PGlite: the database belongs to one process, so an in-process set is
 * the whole truth (and PGlite's single session could not hold a lock against itself anyway).
 */
import type { Database } from './database.ts';

export type SessionLock = {
  /** True once the connection holding the lock broke: the holder must stop its work. */
  readonly lost: boolean;
  release(): Promise<void>;
};

const heldInProcess = new WeakMap<Database, Set<string>>();

/** Tries to take lock (`space`, `key`) without waiting; null when another holder has it. */
export async function trySessionLock(database: Database, space: number, key: number): Promise<SessionLock | null> {
  if (!database.pool) {
    const held = heldInProcess.get(database) ?? new Set<string>();
    heldInProcess.set(database, held);
    const name = `${space}:${key}`;
    if (held.has(name)) return null;
    held.add(name);
    return {
      lost: false,
      async release() {
        held.delete(name);
      },
    };
  }
  const client = await database.pool.connect();
  let lost = false;
  const onError = () => (lost = true);
  client.on('error', onError);
  try {
    const r = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1::int, $2::int) AS ok', [space, key]);
    if (r.rows[0]?.ok !== true) {
      client.off('error', onError);
      client.release();
      return null;
    }
  } catch (e) {
    client.off('error', onError);
    client.release(e as Error);
    throw e;
  }
  let released = false;
  return {
    get lost() {
      return lost;
    },
    async release() {
      if (released) return;
      released = true;
      if (lost) {
        client.off('error', onError);
        client.release(new Error('advisory lock connection lost'));
        return;
      }
      try {
        await client.query('SELECT pg_advisory_unlock($1::int, $2::int)', [space, key]);
        client.off('error', onError);
        client.release();
      } catch (e) {
        client.off('error', onError);
        // Destroying the connection ends the session, which frees the lock too.
        client.release(e as Error);
      }
    },
  };
}
