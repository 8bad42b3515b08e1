/**
 * In-process cache of resolved credentials (session or token → the actor's row: roles, groups,
 * grants). Resolving an actor is the heaviest query of a request; the cache removes it from the hot
 * path without weakening revocation:
 * - every security change made through this process bumps an epoch after its commit, which empties
 *   the cache at once;
 * - entries live at most a few seconds, which bounds what another node's change can leave stale;
 * - personal-data reads re-check the credential inside their own SQL statement (vault repository),
 *   so a revoked session or token is refused on its very next read, on any node.
 */
import type { AppContext } from '../../platform/context.ts';
import type { SessionActorRow } from './identity.repository.ts';

export const ACTOR_CACHE_TTL_MS = 3000;
const MAX_ENTRIES = 10_000;

type Entry<R> = { row: R; epoch: number; loadedAt: number };
type Cache = { epoch: number; entries: Map<string, Entry<SessionActorRow>> };

const caches = new WeakMap<AppContext, Cache>();

function cacheOf(ctx: AppContext): Cache {
  let c = caches.get(ctx);
  if (!c) caches.set(ctx, (c = { epoch: 0, entries: new Map() }));
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

/** Called after the commit of any change to users, roles, groups, sessions, tokens or grants. */
export function invalidateActors(ctx: AppContext): void {
  const c = cacheOf(ctx);
  c.epoch += 1;
  c.entries.clear();
}

export function forgetCredential(ctx: AppContext, key: string): void {
  cacheOf(ctx).entries.delete(key);
}
