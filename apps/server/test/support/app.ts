/**
 * A running Mamori for module and HTTP tests: a fresh database (PGlite or the PostgreSQL of
 * DATABASE_URL), a fresh keyring, the seed with a small demo dataset, and the Fastify app driven
 * through inject(). `signIn()` walks the real login path: password, forced change, TOTP.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.ts';
import { ManualClock } from '../../src/platform/clock.ts';
import type { AppContext } from '../../src/platform/context.ts';
import { createKeyringFile } from '../../src/platform/crypto/keyring.ts';
import { ephemeralSigningKey } from '../../src/platform/crypto/signing-key.ts';
import { fileWitness } from '../../src/modules/audit/audit.witness.ts';
import { currentTotp } from '../../src/platform/crypto/totp.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { seed } from '../../src/platform/seed.ts';
import { tuneRuntime } from '../../src/platform/runtime.ts';
import { identity, type Actor } from '../../src/modules/identity/index.ts';
import type { UserId } from '../../src/platform/ids.ts';
import { openTestDatabase, type TestDatabase } from './database.ts';

export type TestApp = {
  ctx: AppContext;
  clock: ManualClock;
  app: FastifyInstance;
  database: TestDatabase;
  passwords: Map<string, string>;
  dir: string;
  close(): Promise<void>;
};

export const NEW_PASSWORD = 'correct horse battery staple 守り';

/** `setup`: called on the built app before it is ready (e.g. to add a hook that watches requests). */
export async function startTestApp(opts: { demoContacts?: number; setup?: (app: FastifyInstance) => void } = {}): Promise<TestApp> {
  tuneRuntime(); // as openContext does for the server
  const database = await openTestDatabase();
  const dir = await mkdtemp(path.join(tmpdir(), 'mamori-test-'));
  const clock = new ManualClock(new Date('2026-11-25T01:00:00Z'));
  const keyring = await createKeyringFile(path.join(dir, 'keys', 'master.json'), clock.now());
  const ctx: AppContext = {
    database,
    db: database.db,
    clock,
    keyring,
    logger: createLogger('silent'),
    auditLog: { key: ephemeralSigningKey('mamori.test/audit'), origin: 'mamori.test/audit', witnesses: [fileWitness(path.join(dir, 'witness', 'checkpoints.log'))] },
    settings: { sessionIdleMinutes: 30, sessionAbsoluteHours: 12 },
  };
  const seeded = await seed(ctx, { demo: true, demoContacts: opts.demoContacts ?? 300 });
  const app = await buildApp(ctx, { secureCookies: false, trustProxy: false, dataDir: dir });
  opts.setup?.(app);
  await app.ready();
  return {
    ctx, clock, app, database, dir,
    passwords: new Map(seeded.credentials.map((c) => [c.login, c.password])),
    async close() {
      await app.close();
      await database.drop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export type Session = {
  login: string;
  cookie: string;
  csrf: string;
  request(method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, body?: unknown): Promise<{ status: number; json: any }>;
};

/** Logs in with the one-time password; optionally changes it and completes TOTP (enrol + verify). */
export async function signIn(t: TestApp, login: string, opts: { changePassword?: boolean; mfa?: boolean } = {}): Promise<Session> {
  const { changePassword = true, mfa = true } = opts;
  const password = t.passwords.get(login)!;
  const res = await t.app.inject({ method: 'POST', url: '/api/auth/login', payload: { login, password } });
  if (res.statusCode !== 200) throw new Error(`login ${login} failed: ${res.statusCode} ${res.body}`);
  const cookie = String(res.cookies.find((c) => c.name === 'mamori_session')!.value);
  const csrf = (res.json() as { csrfToken: string }).csrfToken;
  const session: Session = {
    login, cookie, csrf,
    async request(method, url, body) {
      const r = await t.app.inject({
        method, url,
        headers: { cookie: `mamori_session=${cookie}`, 'x-csrf-token': csrf },
        ...(body === undefined ? {} : { payload: body as object }),
      });
      return { status: r.statusCode, json: r.body ? JSON.parse(r.body) : null };
    },
  };
  if (changePassword) {
    const r = await session.request('POST', '/api/auth/password', { currentPassword: password, newPassword: NEW_PASSWORD });
    if (r.status !== 200) throw new Error(`password change failed: ${JSON.stringify(r.json)}`);
    t.passwords.set(login, NEW_PASSWORD);
  }
  if (mfa) {
    const enrol = await session.request('POST', '/api/auth/mfa/enroll');
    if (enrol.status !== 200) throw new Error(`enrol failed: ${JSON.stringify(enrol.json)}`);
    const v = await session.request('POST', '/api/auth/mfa/verify', { code: currentTotp(enrol.json.secret, t.clock.now()) });
    if (v.status !== 200) throw new Error(`verify failed: ${JSON.stringify(v.json)}`);
  }
  return session;
}

export const PURPOSE = '営業活動';

/** A signed-in, MFA-verified user actor for calling services directly (no grants: services load what they need). */
export async function actorOf(t: TestApp, login: string): Promise<Actor> {
  const u = (await identity.findUserByLogin(t.ctx, login))!;
  return {
    kind: 'user', userId: u.id as UserId, login: u.login, employmentType: u.employmentType, status: u.status, roles: u.roles, groupIds: u.groupIds,
    sessionRef: null, tokenId: null, mfa: true, passwordChangeRequired: false, terminal: { ip: '192.0.2.1', userAgent: 'test', deviceId: null }, requestId: null, grants: [],
  };
}
