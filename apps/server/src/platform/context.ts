/**
 * What every service needs, built once at start-up and passed explicitly (no globals): the database,
 * the clock, the master keyring, the logger and the configuration.
 */
import type { EmploymentType, Role } from '@mamori/contracts';
import type { Kysely } from 'kysely';
import type { Clock } from './clock.ts';
import type { MasterKeyring } from './crypto/keyring.ts';
import type { Database } from './db/database.ts';
import type { DB } from './db/schema.ts';
import type { Logger } from './logger.ts';
import type { SigningKey } from './crypto/signing-key.ts';

/** What the audit log needs beyond the database: its signing key, its origin and its witnesses. */
export type AuditLogSettings = {
  key: SigningKey;
  origin: string;
  witnesses: readonly { name: string; publish(note: string): Promise<void>; read?(): Promise<string[]>; latest?(): Promise<string | null> }[];
};

/** How the outbox reaches the mail relay (TLS only). Absent → mail stays queued. */
export type MailSettings = {
  /** `smtps://host:port` (implicit TLS) or `smtp://host:port` (STARTTLS, required). */
  url: string;
  from: string;
  /** PEM CA certificate(s) the relay must chain to; null → the system roots. */
  ca: string | null;
  auth: { user: string; pass: string } | null;
};

/** Sign-in through the company IdP, with the secret and CA read from their files. */
export type OidcSettings = {
  issuer: string;
  clientId: string;
  clientSecret: string;
  redirectUrl: string;
  scopes: string;
  label: string;
  groupsClaim: string;
  groupRoles: Readonly<Record<string, readonly Role[]>>;
  mfaAmr: readonly string[];
  mfaAcr: readonly string[];
  matchClaim: string;
  matchEmail: boolean;
  /** PEM CA certificate(s) the IdP's certificate must chain to; null → the system roots. */
  ca: string | null;
};

/** Passkeys: the relying party is the console's public origin. */
export type WebAuthnSettings = { rpId: string; rpName: string; origin: string };

/** Where door-card events are POSTed (https, verified), with an optional Authorization header value. */
export type DoorWebhookSettings = { url: string; authorization: string | null; ca: string | null; cert: string | null; key: string | null };

export type AppContext = {
  database: Database;
  db: Kysely<DB>;
  clock: Clock;
  keyring: MasterKeyring;
  logger: Logger;
  auditLog: AuditLogSettings;
  /** Outgoing mail; absent or null when no relay is configured. */
  mail?: MailSettings | null;
  /** OIDC sign-in; absent or null when no IdP is configured. */
  oidc?: OidcSettings | null;
  /** Passkeys; absent or null when no public URL is configured. */
  webauthn?: WebAuthnSettings | null;
  /** Door-controller webhook; absent or null → door events stay queued in the outbox. */
  door?: DoorWebhookSettings | null;
  settings: {
    sessionIdleMinutes: number;
    sessionAbsoluteHours: number;
    /** SCIM provisioning: `userType` → employment type (lower-case keys), and the type when none is sent. */
    scim?: { userTypes: Readonly<Record<string, EmploymentType>>; defaultEmploymentType: EmploymentType };
  };
};
