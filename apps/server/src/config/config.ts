/**
 * All settings, parsed once from the environment. The only module that reads process.env.
 * No default secrets: the embedded mode creates its key files on first run; production (DATABASE_URL
 * set) refuses to start without an explicit master key.
 */
import path from 'node:path';
import { EMPLOYMENT_TYPES, type EmploymentType } from '@mamori/contracts';

export type Config = {
  port: number;
  host: string;
  dataDir: string;
  /** Unset → embedded PGlite in `dataDir/pgdata`. */
  databaseUrl: string | null;
  /** Path of the master keyring file (embedded mode creates it, mode 0600). */
  masterKeyFile: string;
  /** Production: base64 master key from a secret store instead of a file. */
  masterKeyBase64: string | null;
  logLevel: string;
  /** Seed demo users and the 100k-contact demo dataset on first start. */
  demo: boolean;
  demoContacts: number;
  sessionIdleMinutes: number;
  sessionAbsoluteHours: number;
  /** Set when the server sits behind TLS (directly or via a proxy): cookies get `Secure`. */
  secureCookies: boolean;
  trustProxy: boolean;
  /** Ed25519 key that signs audit checkpoints (embedded mode creates it, mode 0600). */
  logKeyFile: string;
  /** The log's origin line in checkpoints. */
  auditOrigin: string;
  /** Witness destinations outside the database: append-only files and HTTP endpoints. */
  witnessFiles: string[];
  witnessUrls: string[];
  /** API token the `mamori` CLI acts with (MAMORI_TOKEN). */
  cliToken: string | null;
  /** SCIM `userType` → employment type (MAMORI_SCIM_USER_TYPES="Employee=employee,Temp=dispatch"); null = built-in table. */
  scimUserTypes: Record<string, EmploymentType> | null;
  /** Employment type of a SCIM user sent without userType (MAMORI_SCIM_DEFAULT_EMPLOYMENT_TYPE). */
  scimDefaultEmploymentType: EmploymentType;
};

export class ConfigError extends Error {}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`${name} must be an integer between ${min} and ${max}`);
  return n;
}

function bool(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw.toLowerCase())) return true;
  if (['0', 'false', 'no', 'off'].includes(raw.toLowerCase())) return false;
  throw new ConfigError(`${name} must be true or false`);
}

function employmentType(raw: string, name: string): EmploymentType {
  if (!(EMPLOYMENT_TYPES as readonly string[]).includes(raw)) throw new ConfigError(`${name}: ${raw} is not one of ${EMPLOYMENT_TYPES.join(', ')}`);
  return raw as EmploymentType;
}

/** "Employee=employee,Temp=dispatch": keys compared case-insensitively; values are employment types. */
function userTypes(raw: string | undefined): Record<string, EmploymentType> | null {
  if (!raw) return null;
  const out: Record<string, EmploymentType> = {};
  for (const pair of raw.split(',').map((x) => x.trim()).filter(Boolean)) {
    const i = pair.lastIndexOf('=');
    if (i <= 0) throw new ConfigError('MAMORI_SCIM_USER_TYPES must look like "Employee=employee,Temp=dispatch"');
    out[pair.slice(0, i).trim().toLowerCase()] = employmentType(pair.slice(i + 1).trim(), 'MAMORI_SCIM_USER_TYPES');
  }
  return out;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): Config {
  const dataDir = path.resolve(cwd, env.MAMORI_DATA_DIR || 'data');
  const databaseUrl = env.DATABASE_URL || null;
  const masterKeyBase64 = env.MAMORI_MASTER_KEY || null;
  const masterKeyFile = path.resolve(cwd, env.MAMORI_MASTER_KEY_FILE || path.join(dataDir, 'keys', 'master.json'));
  if (databaseUrl && !masterKeyBase64 && !env.MAMORI_MASTER_KEY_FILE) {
    throw new ConfigError(
      'DATABASE_URL is set (production mode): set MAMORI_MASTER_KEY (base64, 32 bytes) or MAMORI_MASTER_KEY_FILE; Mamori has no default key',
    );
  }
  if (databaseUrl && !env.MAMORI_LOG_KEY_FILE) {
    throw new ConfigError('DATABASE_URL is set (production mode): set MAMORI_LOG_KEY_FILE, the Ed25519 key that signs audit checkpoints');
  }
  const list = (v: string | undefined) => (v ? v.split(',').map((x) => x.trim()).filter(Boolean) : []);
  return {
    logKeyFile: path.resolve(cwd, env.MAMORI_LOG_KEY_FILE || path.join(dataDir, 'keys', 'log-signing.json')),
    auditOrigin: env.MAMORI_AUDIT_ORIGIN || 'mamori.local/audit',
    witnessFiles: env.MAMORI_AUDIT_WITNESS_FILES !== undefined ? list(env.MAMORI_AUDIT_WITNESS_FILES).map((f) => path.resolve(cwd, f)) : databaseUrl ? [] : [path.join(dataDir, 'witness', 'checkpoints.log')],
    witnessUrls: list(env.MAMORI_AUDIT_WITNESS_URLS),
    port: int(env, 'PORT', 3000, 0, 65535),
    host: env.HOST || '127.0.0.1',
    dataDir,
    databaseUrl,
    masterKeyFile,
    masterKeyBase64,
    logLevel: env.LOG_LEVEL || 'info',
    demo: bool(env, 'MAMORI_DEMO', !databaseUrl),
    demoContacts: int(env, 'MAMORI_DEMO_CONTACTS', 100_000, 0, 10_000_000),
    sessionIdleMinutes: int(env, 'MAMORI_SESSION_IDLE_MINUTES', 30, 1, 24 * 60),
    sessionAbsoluteHours: int(env, 'MAMORI_SESSION_ABSOLUTE_HOURS', 12, 1, 24 * 7),
    secureCookies: bool(env, 'MAMORI_SECURE_COOKIES', false),
    trustProxy: bool(env, 'MAMORI_TRUST_PROXY', false),
    cliToken: env.MAMORI_TOKEN || null,
    scimUserTypes: userTypes(env.MAMORI_SCIM_USER_TYPES),
    scimDefaultEmploymentType: employmentType(env.MAMORI_SCIM_DEFAULT_EMPLOYMENT_TYPE || 'employee', 'MAMORI_SCIM_DEFAULT_EMPLOYMENT_TYPE'),
  };
}
