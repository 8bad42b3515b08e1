/**
 * Cluster signals over PostgreSQL LISTEN/NOTIFY: how one Mamori node tells the others that something
 * they cache changed. PGlite belongs to one process, so there is nobody to tell: both calls are no-ops.
 */
import type pg from 'pg';
import type { Database } from './database.ts';

const CHANNEL_RE = /^[a-z_][a-z0-9_]{0,62}$/;

/** Sends a signal (after the caller's commit); failures are swallowed: the receivers' caches expire anyway. */
export function sendSignal(database: Database, channel: string, payload: string): Promise<void> {
  if (!database.pool) return Promise.resolve();
  return database.pool.query('SELECT pg_notify($1, $2)', [channel, payload]).then(() => undefined, () => undefined);
}

export type SignalListener = { close(): Promise<void> };

/**
 * Listens on a channel with one dedicated connection; reconnects after a failure and then calls
 * `onMessage(null)` (messages may have been missed while it was down).
 */
export async function listenSignals(database: Database, channel: string, onMessage: (payload: string | null) => void): Promise<SignalListener> {
  if (!CHANNEL_RE.test(channel)) throw new Error('bad channel name');
  const pool = database.pool;
  if (!pool) return { close: async () => undefined };
  let closed = false;
  let client: pg.PoolClient | null = null;
  let timer: NodeJS.Timeout | null = null;
  const connect = async (): Promise<void> => {
    try {
      const c = await pool.connect();
      client = c;
      c.on('notification', (n) => {
        if (n.channel === channel) onMessage(n.payload ?? '');
      });
      c.on('error', () => {
        c.release(true);
        if (client === c) client = null;
        onMessage(null);
        if (!closed) timer = setTimeout(() => void connect(), 1000);
      });
      await c.query(`LISTEN ${channel}`);
    } catch {
      onMessage(null);
      if (!closed) timer = setTimeout(() => void connect(), 1000);
    }
  };
  await connect();
  return {
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      const c = client;
      client = null;
      if (c) {
        await c.query(`UNLISTEN ${channel}`).catch(() => undefined);
        c.release();
      }
    },
  };
}
