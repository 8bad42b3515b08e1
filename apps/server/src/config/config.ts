/**
 * All settings, parsed once from the environment. The only module that reads process.env.
 * No default secrets: the embedded mode creates its key files on first run; production (DATABASE_URL
 * set) refuses to start without an explicit master key.
 */
import os from 'node:os';
import path from 'node:path';
import { EMPLOYMENT_TYPES, ROLES, type EmploymentType, type Role } from '@mamori/contracts';

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
  /**
   * Outgoing mail (the outbox): `smtps://host:465` (implicit TLS) or `smtp://host:587` (STARTTLS,
   * required). Unset → mail stays queued in the outbox. Credentials never in the URL: see smtpAuthFile.
   */
  smtpUrl: string | null;
  /** PEM file of the CA(s) that the relay's certificate must chain to; unset → the system roots. */
  smtpCaFile: string | null;
  /** JSON file `{"user": …, "pass": …}` (mode 0600) when the relay wants authentication. */
  smtpAuthFile: string | null;
  /** The From address of mail Mamori sends. */
  mailFrom: string | null;
  /** SIEM export destinations (TLS only); none configured → no exporter runs. */
  siem: SiemConfig;
  /** The outbound transmission gateway (T6). */
  gateway: GatewayConfig;
  /**
   * The address people open the console at (MAMORI_PUBLIC_URL, e.g. https://mamori.example.co.jp).
   * Passkeys are bound to its host name; the OIDC redirect URL defaults to it. Null → no passkeys.
   */
  publicUrl: string | null;
  /** Sign-in through the company IdP (OpenID Connect); null when MAMORI_OIDC_ISSUER is unset. */
  oidc: OidcConfig | null;
  /** Door controllers: door-card revocations are POSTed there from the outbox (https only). */
  doorWebhook: ({ url: string; authorizationFile: string | null } & TlsFiles) | null;
};

export type GatewayConfig = {
  /**
   * The upstream relay approved transmissions go to (MAMORI_RELAY_URL): `smtps://host:465` or
   * `smtp://host:587` (STARTTLS required), certificate verified against MAMORI_RELAY_CA_FILE or the
   * system roots. Unset → approved messages stay queued.
   */
  relayUrl: string | null;
  relayCaFile: string | null;
  /** JSON file `{"user": …, "pass": …}` (mode 0600) when the relay wants authentication. */
  relayAuthFile: string | null;
  /** The SMTP submission port (MAMORI_SUBMISSION_PORT); null → off. Needs a certificate and key. */
  submission: { port: number; host: string; certFile: string; keyFile: string; name: string } | null;
  /** Largest message accepted, in bytes (MAMORI_MESSAGE_MAX_BYTES, default 25 MiB). */
  maxMessageBytes: number;
  /** Domain of the Message-ID of composed mail (MAMORI_MESSAGE_ID_DOMAIN). */
  messageIdDomain: string;
};

export type OidcConfig = {
  issuer: string;
  clientId: string;
  /** File holding the client secret (mode 0600); never the secret itself in the environment. */
  clientSecretFile: string;
  redirectUrl: string;
  scopes: string;
  /** The name on the console's button ("Entra ID", "Okta"). */
  label: string;
  /** The claim that carries group ids or names (Entra ID: groups; Okta: groups with a filter). */
  groupsClaim: string;
  /** IdP group → Mamori roles. Only roles named here are managed by SSO; others are left alone. */
  groupRoles: Record<string, Role[]>;
  /** ID-token `amr` values (any) or `acr` values (any) that count as multi-factor. */
  mfaAmr: string[];
  mfaAcr: string[];
  /** The claim compared with the SCIM externalId on a first login (Okta: sub; Entra ID: oid). */
  matchClaim: string;
  /** Also match a first login by e-mail (login or e-mail address of the user); off by default. */
  matchEmail: boolean;
  caFile: string | null;
};

/** Files of PEM material for a TLS client: the CA to verify the peer with, and an optional client certificate. */
export type TlsFiles = { caFile: string | null; certFile: string | null; keyFile: string | null };

export type SiemConfig = {
  /** RFC 5424 over TLS (RFC 5425), from MAMORI_SIEM_SYSLOG=tls://host:port. */
  syslog: ({ host: string; port: number; hostname: string; settleMs: number } & TlsFiles) | null;
  /** Batches of JSON Lines POSTed to an https:// endpoint (MAMORI_SIEM_JSONL_URL). */
  https: ({ url: string; authorization: string | null } & TlsFiles) | null;
  /** JSON Lines appended to a local file (MAMORI_SIEM_JSONL_FILE). */
  file: string | null;
  /** Events per batch (HTTPS POST, syslog TLS session, file write). */
  batch: number;
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
  const smtpUrl = env.MAMORI_SMTP_URL || null;
  if (smtpUrl) {
    let u: URL;
    try {
      u = new URL(smtpUrl);
    } catch {
      throw new ConfigError('MAMORI_SMTP_URL must be a URL like smtps://relay.example.com:465 or smtp://relay.example.com:587');
    }
    if ((u.protocol !== 'smtp:' && u.protocol !== 'smtps:') || !u.hostname) throw new ConfigError('MAMORI_SMTP_URL must start with smtps:// (implicit TLS) or smtp:// (STARTTLS, required)');
    if (u.username || u.password) throw new ConfigError('MAMORI_SMTP_URL must not carry credentials: put them in MAMORI_SMTP_AUTH_FILE');
    if (!env.MAMORI_MAIL_FROM) throw new ConfigError('MAMORI_SMTP_URL is set: set MAMORI_MAIL_FROM, the sender address of Mamori\'s mail');
  }
  const list = (v: string | undefined) => (v ? v.split(',').map((x) => x.trim()).filter(Boolean) : []);
  const publicUrl = publicUrlOf(env);
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
    smtpUrl,
    smtpCaFile: env.MAMORI_SMTP_CA_FILE ? path.resolve(cwd, env.MAMORI_SMTP_CA_FILE) : null,
    smtpAuthFile: env.MAMORI_SMTP_AUTH_FILE ? path.resolve(cwd, env.MAMORI_SMTP_AUTH_FILE) : null,
    mailFrom: env.MAMORI_MAIL_FROM || null,
    siem: siemConfig(env, cwd),
    gateway: gatewayConfig(env, cwd),
    publicUrl,
    oidc: oidcConfig(env, cwd, publicUrl),
    doorWebhook: doorWebhookConfig(env, cwd),
  };
}

function gatewayConfig(env: NodeJS.ProcessEnv, cwd: string): GatewayConfig {
  const relayUrl = env.MAMORI_RELAY_URL || null;
  if (relayUrl) {
    let u: URL;
    try {
      u = new URL(relayUrl);
    } catch {
      throw new ConfigError('MAMORI_RELAY_URL must be a URL like smtps://relay.example.com:465 or smtp://relay.example.com:587');
    }
    if ((u.protocol !== 'smtp:' && u.protocol !== 'smtps:') || !u.hostname) throw new ConfigError('MAMORI_RELAY_URL must start with smtps:// (implicit TLS) or smtp:// (STARTTLS, required)');
    if (u.username || u.password) throw new ConfigError('MAMORI_RELAY_URL must not carry credentials: put them in MAMORI_RELAY_AUTH_FILE');
  }
  const file = (name: string) => (env[name] ? path.resolve(cwd, env[name]!) : null);
  let submission: GatewayConfig['submission'] = null;
  if (env.MAMORI_SUBMISSION_PORT) {
    const certFile = file('MAMORI_SUBMISSION_CERT_FILE');
    const keyFile = file('MAMORI_SUBMISSION_KEY_FILE');
    if (!certFile || !keyFile) throw new ConfigError('MAMORI_SUBMISSION_PORT is set: set MAMORI_SUBMISSION_CERT_FILE and MAMORI_SUBMISSION_KEY_FILE (STARTTLS is required on the submission port)');
    submission = {
      port: int(env, 'MAMORI_SUBMISSION_PORT', 587, 0, 65535), host: env.MAMORI_SUBMISSION_HOST || env.HOST || '127.0.0.1', certFile, keyFile,
      name: env.MAMORI_SUBMISSION_NAME || os.hostname(),
    };
  }
  const messageIdDomain = env.MAMORI_MESSAGE_ID_DOMAIN || env.MAMORI_MAIL_FROM?.split('@').pop() || 'mamori.local';
  if (!/^[A-Za-z0-9.-]{1,253}$/.test(messageIdDomain)) throw new ConfigError('MAMORI_MESSAGE_ID_DOMAIN must be a domain name');
  return {
    relayUrl, relayCaFile: file('MAMORI_RELAY_CA_FILE'), relayAuthFile: file('MAMORI_RELAY_AUTH_FILE'), submission,
    maxMessageBytes: int(env, 'MAMORI_MESSAGE_MAX_BYTES', 25 * 1024 * 1024, 1024, 200 * 1024 * 1024), messageIdDomain,
  };
}

function publicUrlOf(env: NodeJS.ProcessEnv): string | null {
  const raw = env.MAMORI_PUBLIC_URL;
  if (!raw) return null;
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new ConfigError('MAMORI_PUBLIC_URL must be the URL people open the console at, e.g. https://mamori.example.co.jp');
  }
  if ((u.protocol !== 'https:' && u.protocol !== 'http:') || u.username || u.password || (u.pathname !== '/' && u.pathname !== '') || u.search || u.hash) {
    throw new ConfigError('MAMORI_PUBLIC_URL must be an origin only: https://host[:port]');
  }
  // Browsers allow WebAuthn over http only on localhost; anything else must be https.
  if (u.protocol === 'http:' && u.hostname !== 'localhost') throw new ConfigError('MAMORI_PUBLIC_URL must be https:// (http:// only for localhost)');
  return u.origin;
}

/** "grp-a=handler,grp-b=cpo|data_owner": group → roles; a group may be named twice. */
function groupRoles(raw: string | undefined): Record<string, Role[]> {
  const out: Record<string, Role[]> = {};
  if (!raw) return out;
  for (const pair of raw.split(',').map((x) => x.trim()).filter(Boolean)) {
    const i = pair.lastIndexOf('=');
    if (i <= 0) throw new ConfigError('MAMORI_OIDC_GROUP_ROLES must look like "group-id=handler,other-group=cpo|data_owner"');
    const group = pair.slice(0, i).trim();
    for (const r of pair.slice(i + 1).split('|').map((x) => x.trim())) {
      if (!(ROLES as readonly string[]).includes(r)) throw new ConfigError(`MAMORI_OIDC_GROUP_ROLES: ${r} is not one of ${ROLES.join(', ')}`);
      out[group] = [...new Set([...(out[group] ?? []), r as Role])];
    }
  }
  return out;
}

function oidcConfig(env: NodeJS.ProcessEnv, cwd: string, publicUrl: string | null): OidcConfig | null {
  const issuer = env.MAMORI_OIDC_ISSUER;
  if (!issuer) return null;
  let u: URL;
  try {
    u = new URL(issuer);
  } catch {
    throw new ConfigError('MAMORI_OIDC_ISSUER must be the IdP\'s issuer URL (https://…)');
  }
  if (u.protocol !== 'https:') throw new ConfigError('MAMORI_OIDC_ISSUER must be an https:// URL');
  if (!env.MAMORI_OIDC_CLIENT_ID) throw new ConfigError('MAMORI_OIDC_ISSUER is set: set MAMORI_OIDC_CLIENT_ID');
  if (!env.MAMORI_OIDC_CLIENT_SECRET_FILE) throw new ConfigError('MAMORI_OIDC_ISSUER is set: set MAMORI_OIDC_CLIENT_SECRET_FILE (a file holding the client secret)');
  const redirectUrl = env.MAMORI_OIDC_REDIRECT_URL || (publicUrl ? `${publicUrl}/api/auth/oidc/callback` : null);
  if (!redirectUrl) throw new ConfigError('MAMORI_OIDC_ISSUER is set: set MAMORI_OIDC_REDIRECT_URL or MAMORI_PUBLIC_URL');
  let r: URL;
  try {
    r = new URL(redirectUrl);
  } catch {
    throw new ConfigError('MAMORI_OIDC_REDIRECT_URL must be a URL ending in /api/auth/oidc/callback');
  }
  if (!r.pathname.endsWith('/api/auth/oidc/callback')) throw new ConfigError('MAMORI_OIDC_REDIRECT_URL must end in /api/auth/oidc/callback');
  if (r.protocol !== 'https:' && r.hostname !== 'localhost') throw new ConfigError('MAMORI_OIDC_REDIRECT_URL must be https:// (http:// only for localhost)');
  const list = (v: string | undefined, fallback: string[]) => (v === undefined ? fallback : v.split(',').map((x) => x.trim()).filter(Boolean));
  return {
    // The issuer is compared exactly with the IdP's own: kept as written (no trailing slash added).
    issuer,
    clientId: env.MAMORI_OIDC_CLIENT_ID,
    clientSecretFile: path.resolve(cwd, env.MAMORI_OIDC_CLIENT_SECRET_FILE),
    redirectUrl: r.toString(),
    scopes: env.MAMORI_OIDC_SCOPES || 'openid email profile',
    label: env.MAMORI_OIDC_LABEL || 'SSO',
    groupsClaim: env.MAMORI_OIDC_GROUPS_CLAIM || 'groups',
    groupRoles: groupRoles(env.MAMORI_OIDC_GROUP_ROLES),
    mfaAmr: list(env.MAMORI_OIDC_MFA_AMR, ['mfa']),
    mfaAcr: list(env.MAMORI_OIDC_MFA_ACR, []),
    matchClaim: env.MAMORI_OIDC_MATCH_CLAIM || 'sub',
    matchEmail: bool(env, 'MAMORI_OIDC_MATCH_EMAIL', false),
    caFile: env.MAMORI_OIDC_CA_FILE ? path.resolve(cwd, env.MAMORI_OIDC_CA_FILE) : null,
  };
}

/** Where door-card revocations go: an https:// endpoint of the door-controller system (MAMORI_DOOR_WEBHOOK_URL). */
function doorWebhookConfig(env: NodeJS.ProcessEnv, cwd: string): Config['doorWebhook'] {
  const raw = env.MAMORI_DOOR_WEBHOOK_URL;
  if (!raw) return null;
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new ConfigError('MAMORI_DOOR_WEBHOOK_URL must be an https:// URL');
  }
  if (u.protocol !== 'https:') throw new ConfigError('MAMORI_DOOR_WEBHOOK_URL must be an https:// URL: door events go over verified TLS only');
  if (u.username || u.password) throw new ConfigError('MAMORI_DOOR_WEBHOOK_URL must not carry credentials: use MAMORI_DOOR_WEBHOOK_AUTHORIZATION_FILE');
  return {
    url: u.toString(),
    authorizationFile: env.MAMORI_DOOR_WEBHOOK_AUTHORIZATION_FILE ? path.resolve(cwd, env.MAMORI_DOOR_WEBHOOK_AUTHORIZATION_FILE) : null,
    ...tlsFiles(env, 'MAMORI_DOOR_WEBHOOK', cwd),
  };
}

function tlsFiles(env: NodeJS.ProcessEnv, prefix: string, cwd: string): TlsFiles {
  const file = (name: string) => (env[`${prefix}_${name}`] ? path.resolve(cwd, env[`${prefix}_${name}`]!) : null);
  const certFile = file('CERT_FILE');
  const keyFile = file('KEY_FILE');
  if ((certFile === null) !== (keyFile === null)) throw new ConfigError(`${prefix}_CERT_FILE and ${prefix}_KEY_FILE go together (a client certificate and its key)`);
  return { caFile: file('CA_FILE'), certFile, keyFile };
}

/**
 * SIEM destinations. Only TLS with a verified certificate: `tcp://`, `udp://` and `http://` are
 * refused here, at start-up, rather than quietly sending the audit log in clear.
 */
function siemConfig(env: NodeJS.ProcessEnv, cwd: string): SiemConfig {
  let syslog: SiemConfig['syslog'] = null;
  if (env.MAMORI_SIEM_SYSLOG) {
    let u: URL;
    try {
      u = new URL(env.MAMORI_SIEM_SYSLOG);
    } catch {
      throw new ConfigError('MAMORI_SIEM_SYSLOG must be tls://host:port');
    }
    if (u.protocol !== 'tls:') throw new ConfigError('MAMORI_SIEM_SYSLOG must be tls://host:port: syslog is sent over TLS only (RFC 5425); plain TCP or UDP is refused');
    if (!u.hostname || u.username || u.password || (u.pathname !== '' && u.pathname !== '/') || u.search || u.hash) {
      throw new ConfigError('MAMORI_SIEM_SYSLOG must be tls://host:port, nothing more');
    }
    // RFC 5424 HOSTNAME: 1–255 printable US-ASCII characters.
    const given = env.MAMORI_SIEM_SYSLOG_HOSTNAME;
    if (given && !/^[\x21-\x7e]{1,255}$/.test(given)) throw new ConfigError('MAMORI_SIEM_SYSLOG_HOSTNAME must be 1–255 printable ASCII characters without spaces');
    const hostname = given || os.hostname().replace(/[^\x21-\x7e]/g, '-').slice(0, 255) || '-';
    syslog = {
      host: u.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: u.port ? Number(u.port) : 6514,
      hostname,
      // How long a connection must stay up after a batch was flushed before the batch counts as delivered.
      settleMs: int(env, 'MAMORI_SIEM_SYSLOG_SETTLE_MS', 2000, 100, 600_000),
      ...tlsFiles(env, 'MAMORI_SIEM_SYSLOG', cwd),
    };
  }
  let https: SiemConfig['https'] = null;
  if (env.MAMORI_SIEM_JSONL_URL) {
    let u: URL;
    try {
      u = new URL(env.MAMORI_SIEM_JSONL_URL);
    } catch {
      throw new ConfigError('MAMORI_SIEM_JSONL_URL must be an https:// URL');
    }
    if (u.protocol !== 'https:') throw new ConfigError('MAMORI_SIEM_JSONL_URL must be an https:// URL: the audit log is sent over TLS only');
    if (u.username || u.password) throw new ConfigError('MAMORI_SIEM_JSONL_URL must not carry credentials: use MAMORI_SIEM_JSONL_AUTHORIZATION');
    https = { url: u.toString(), authorization: env.MAMORI_SIEM_JSONL_AUTHORIZATION || null, ...tlsFiles(env, 'MAMORI_SIEM_JSONL', cwd) };
  }
  return {
    syslog,
    https,
    file: env.MAMORI_SIEM_JSONL_FILE ? path.resolve(cwd, env.MAMORI_SIEM_JSONL_FILE) : null,
    batch: int(env, 'MAMORI_SIEM_BATCH', 1000, 1, 100_000),
  };
}
