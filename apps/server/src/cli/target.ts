/**
 * Where a `mamori` command runs. The embedded database belongs to one process: when a server runs on
 * the same data folder the command goes through its HTTP API (with MAMORI_TOKEN); otherwise it opens
 * the data folder itself and acts as the token's user, or as the local operator (system actor).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config/config.ts';
import { openContext } from '../platform/bootstrap.ts';
import type { AppContext } from '../platform/context.ts';
import { identity, systemActor, type Actor } from '../modules/identity/index.ts';
import { createLogger } from '../platform/logger.ts';
import { SERVER_FILE } from '../main.ts';

export type Target =
  | { mode: 'online'; url: string; token: string | null }
  | { mode: 'offline'; ctx: AppContext; actor: Actor; close(): Promise<void> };

export async function runningServer(config: Config): Promise<string | null> {
  try {
    const info = JSON.parse(await readFile(path.join(config.dataDir, SERVER_FILE), 'utf8')) as { pid: number; url: string };
    process.kill(info.pid, 0);
    return info.url;
  } catch {
    return null;
  }
}

export async function resolveTarget(config: Config): Promise<Target> {
  const url = config.databaseUrl ? null : await runningServer(config);
  if (url) return { mode: 'online', url, token: config.cliToken };
  const ctx = await openContext(config, { logger: createLogger('warn') });
  const terminal = { ip: null, userAgent: 'mamori-cli', deviceId: null };
  const actor = config.cliToken ? await identity.resolveApiToken(ctx, config.cliToken, terminal, null) : systemActor(terminal);
  return { mode: 'offline', ctx, actor, close: () => ctx.database.close() };
}

export async function api<T>(target: { url: string; token: string | null }, method: string, route: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
  if (!target.token) throw new Error('A Mamori server is running on this data folder: set MAMORI_TOKEN to an API token (mamori token create) to act through it.');
  const res = await fetch(new URL(route, target.url), {
    method,
    headers: { authorization: `Bearer ${target.token}`, ...headers },
    ...(body === undefined ? {} : { body, duplex: 'half' }),
  } as RequestInit);
  const text = await res.text();
  const json = text ? (JSON.parse(text) as unknown) : null;
  if (!res.ok) {
    const e = (json as { error?: { code: string; message: string; details?: unknown } } | null)?.error;
    throw Object.assign(new Error(e ? `${e.code}: ${e.message}` : `HTTP ${res.status}`), { details: e?.details });
  }
  return json as T;
}
