/**
 * In-process cache of resolved credentials (session or token → the actor's row: roles, groups,
 * grants). Resolving an actor is the heaviest query of a request; the cache removes it from the hot
 * path without weakening revocation:
 * - every security change made through this process bumps an epoch after its commit, which empties
 *   the cache at once;
 * - the bump is broadcast to the other nodes on one PostgreSQL (LISTEN/NOTIFY, `startActorBroadcast`),
 *   which empty their caches when it arrives;
 * - entries live at most a few seconds, which bounds what a lost broadcast can leave stale;
 * - personal-data reads re-check the credential inside their own SQL statement (vault repository),
 *   so a revoked session or token is refused on its very next read, on any node.
 */
import { randomUUID } from 'node:crypto';
import type { AppContext } from '../../platform/context.ts';
import { listenSignals, sendSignal, type SignalListener } from '../../platform/db/signals.ts';
import type { SessionActorRow } from './identity.repository.ts';

export const ACTOR_CACHE_TTL_MS = 3000;
const MAX_ENTRIES = 10_000;

type Entry<R> = { row: R; epoch: number; loadedAt: number };
type Cache = { epoch: number; entries: Map<string, Entry<SessionActorRow>>; nodeId: string };

export const ACTOR_EPOCH_CHANNEL = 'mamori_actor_epoch';

const caches = new WeakMap<AppContext, Cache>();

function cacheOf(ctx: AppContext): Cache {
  let c = caches.get(ctx);
  if (!c) caches.set(ctx, (c = { epoch: 0, entries: new Map(), nodeId: randomUUID() }));
  return c;
}

export function cachedActorRow<R extends SessionActorRow>(ctx: AppContext, key: string, nowMs: number): R | undefined {
  const c = cacheOf(ctx);
  const e = c.entries.get(key);
  if (!e) return undefined;
  if (e.epoch !== c.epoch || nowMs - e.loadedAt > ACTOR_CACHE_TTL_MS || nowMs < e.loadedAt) {
    c.entries.delete(key);
    return undefined;
  }
  return e.row as R;
}

export function rememberActorRow(ctx: AppContext, key: string, row: SessionActorRow, epochAtLoad: number, nowMs: number): void {
  const c = cacheOf(ctx);
  // A change committed while the row was being read bumps the epoch: such a row is not kept.
  if (epochAtLoad !== c.epoch) return;
  if (c.entries.size >= MAX_ENTRIES) c.entries.clear();
  c.entries.set(key, { row, epoch: epochAtLoad, loadedAt: nowMs });
}

export function actorCacheEpoch(ctx: AppContext): number {
  return cacheOf(ctx).epoch;
}

function bump(c: Cache): void {
  c.epoch += 1;
  c.entries.clear();
}

/** Called after the commit of any change to users, roles, groups, sessions, tokens or grants. */
export function invalidateActors(ctx: AppContext): void {
  const c = cacheOf(ctx);
  bump(c);
  void sendSignal(ctx.database, ACTOR_EPOCH_CHANNEL, c.nodeId);
}

/**
 * Listens for other nodes' invalidations (PostgreSQL only) and empties this node's cache when one
 * arrives, or when the listening connection was lost (a broadcast may have been missed).
 */
export function startActorBroadcast(ctx: AppContext): Promise<SignalListener> {
  const c = cacheOf(ctx);
  return listenSignals(ctx.database, ACTOR_EPOCH_CHANNEL, (from) => {
    if (from !== c.nodeId) bump(c);
  });
}

export function forgetCredential(ctx: AppContext, key: string): void {
  cacheOf(ctx).entries.delete(key);
}
