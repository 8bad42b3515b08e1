/**
 * Start-up shared by the server and the offline CLI: the master keyring (created on first embedded
 * run, required in production), the database (migrated), the logger, and the AppContext.
 */
import path from 'node:path';
import type { Config } from '../config/config.ts';
import { systemClock, type Clock } from './clock.ts';
import type { AppContext, DoorWebhookSettings, MailSettings, OidcSettings, WebAuthnSettings } from './context.ts';
import { readFile } from 'node:fs/promises';
import { keyringFromBase64, openOrCreateKeyringFile, readKeyringFile, type MasterKeyring } from './crypto/keyring.ts';
import { openDatabase } from './db/database.ts';
import { migrate } from './db/migrate.ts';
import { createLogger, type Logger } from './logger.ts';
import { tuneRuntime } from './runtime.ts';
import { openOrCreateSigningKey, readSigningKey } from './crypto/signing-key.ts';
import { fileWitness, httpWitness } from '../modules/audit/audit.witness.ts';
import { DEFAULT_USER_TYPES } from '../modules/scim/index.ts';

export async function loadKeyring(config: Config, now: Date): Promise<MasterKeyring> {
  if (config.masterKeyBase64) return keyringFromBase64(config.masterKeyBase64);
  // Embedded mode creates its key on first run (mode 0600); production (DATABASE_URL) must be given one.
  return config.databaseUrl ? readKeyringFile(config.masterKeyFile) : openOrCreateKeyringFile(config.masterKeyFile, now);
}

/** The relay settings with the CA and credentials read from their files (never from the environment). */
export async function loadMailSettings(config: Config): Promise<MailSettings | null> {
  if (!config.smtpUrl || !config.mailFrom) return null;
  const ca = config.smtpCaFile ? await readFile(config.smtpCaFile, 'utf8') : null;
  let auth: MailSettings['auth'] = null;
  if (config.smtpAuthFile) {
    const parsed = JSON.parse(await readFile(config.smtpAuthFile, 'utf8')) as { user?: unknown; pass?: unknown };
    if (typeof parsed.user !== 'string' || typeof parsed.pass !== 'string') throw new Error('MAMORI_SMTP_AUTH_FILE must hold {"user": "…", "pass": "…"}');
    auth = { user: parsed.user, pass: parsed.pass };
  }
  return { url: config.smtpUrl, from: config.mailFrom, ca, auth };
}

/** Reads a `{"user": …, "pass": …}` credentials file (never credentials from the environment). */
async function readAuthFile(file: string, name: string): Promise<{ user: string; pass: string }> {
  const parsed = JSON.parse(await readFile(file, 'utf8')) as { user?: unknown; pass?: unknown };
  if (typeof parsed.user !== 'string' || typeof parsed.pass !== 'string') throw new Error(`${name} must hold {"user": "…", "pass": "…"}`);
  return { user: parsed.user, pass: parsed.pass };
}

/** The gateway's upstream relay, with its CA and credentials read from their files. */
export async function loadRelaySettings(config: Config): Promise<{ url: string; ca: string | null; auth: { user: string; pass: string } | null } | null> {
  const g = config.gateway;
  if (!g.relayUrl) return null;
  return {
    url: g.relayUrl,
    ca: g.relayCaFile ? await readFile(g.relayCaFile, 'utf8') : null,
    auth: g.relayAuthFile ? await readAuthFile(g.relayAuthFile, 'MAMORI_RELAY_AUTH_FILE') : null,
  };
}

/** OIDC settings with the client secret and CA read from their files. */
export async function loadOidcSettings(config: Config): Promise<OidcSettings | null> {
  const o = config.oidc;
  if (!o) return null;
  const clientSecret = (await readFile(o.clientSecretFile, 'utf8')).trim();
  if (!clientSecret) throw new Error('MAMORI_OIDC_CLIENT_SECRET_FILE is empty');
  const { clientSecretFile: _f, caFile, ...rest } = o;
  return { ...rest, clientSecret, ca: caFile ? await readFile(caFile, 'utf8') : null };
}

export function webAuthnSettings(config: Config): WebAuthnSettings | null {
  if (!config.publicUrl) return null;
  return { rpId: new URL(config.publicUrl).hostname, rpName: 'Mamori', origin: config.publicUrl };
}

export async function loadDoorWebhook(config: Config): Promise<DoorWebhookSettings | null> {
  const d = config.doorWebhook;
  if (!d) return null;
  const file = async (f: string | null) => (f ? await readFile(f, 'utf8') : null);
  return { url: d.url, authorization: (await file(d.authorizationFile))?.trim() || null, ca: await file(d.caFile), cert: await file(d.certFile), key: await file(d.keyFile) };
}

export async function openContext(config: Config, opts: { logger?: Logger; clock?: Clock; poolSize?: number } = {}): Promise<AppContext> {
  tuneRuntime();
  const clock = opts.clock ?? systemClock;
  const logger = opts.logger ?? createLogger(config.logLevel);
  const keyring = await loadKeyring(config, clock.now());
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: path.join(config.dataDir, 'pgdata'), ...(opts.poolSize ? { poolSize: opts.poolSize } : {}) });
  await migrate(database);
  const key = config.databaseUrl ? await readSigningKey(config.logKeyFile) : await openOrCreateSigningKey(config.logKeyFile, config.auditOrigin);
  return {
    auditLog: { key, origin: config.auditOrigin, witnesses: [...config.witnessFiles.map(fileWitness), ...config.witnessUrls.map(httpWitness)] },
    database,
    db: database.db,
    clock,
    keyring,
    logger,
    mail: await loadMailSettings(config),
    oidc: await loadOidcSettings(config),
    webauthn: webAuthnSettings(config),
    door: await loadDoorWebhook(config),
    settings: {
      sessionIdleMinutes: config.sessionIdleMinutes, sessionAbsoluteHours: config.sessionAbsoluteHours,
      scim: { userTypes: config.scimUserTypes ?? DEFAULT_USER_TYPES, defaultEmploymentType: config.scimDefaultEmploymentType },
    },
  };
}
