/**
 * The SMTP submission port with a real mail client (nodemailer): AUTH is refused before STARTTLS and
 * MAIL before AUTH; a wrong password or a foreign token is refused; an accepted message is held (never
 * relayed on submission); with a password only it waits for the sender's confirmation (MFA), with an
 * API token it goes straight to the approver; the sender may only send as themselves; the size limit
 * holds.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import nodemailer, { type SendMailOptions } from 'nodemailer';
import { startTestApp, type TestApp } from './support/app.ts';
import { startSmtpPeer, type SmtpPeer } from './support/smtp.ts';
import { testPki } from './support/tls.ts';
import { identity, type Actor } from '../src/modules/identity/index.ts';
import type { UserId } from '../src/platform/ids.ts';
import { advanceApprovals, confirm, deliverQueued, startSubmissionServer, type SubmissionServer, type TransmissionSettings } from '../src/modules/transmissions/index.ts';

let t: TestApp;
let upstream: SmtpPeer;
let server: SubmissionServer;
let token: string;
let ca: string;
let settings: TransmissionSettings;
const PASSWORD = 'correct horse battery staple 守り';

before(async () => {
  t = await startTestApp({ demoContacts: 0 });
  upstream = await startSmtpPeer('starttls');
  const pki = await testPki();
  ca = pki.ca;
  settings = { relay: { url: upstream.url, ca, auth: null }, maxBytes: 64 * 1024, messageIdDomain: 'mamori.test' };
  await t.ctx.db.updateTable('users').set({ email: 'ito@mamori.test' }).where('login', '=', 'handler').execute();
  await t.ctx.db.updateTable('users').set({ email: 'tanaka@mamori.test' }).where('login', '=', 'owner').execute();
  // The handler's password as after the forced first change (the one-time password would refuse everything).
  await identity.changePassword(t.ctx, await actorOf('handler', { passwordChangeRequired: true, mfa: false }), t.passwords.get('handler')!, PASSWORD);
  const handler = (await identity.findUserByLogin(t.ctx, 'handler'))!;
  token = (await identity.createApiToken(t.ctx, await actorOf('admin'), { userId: handler.id, name: 'mail client' })).token;
  server = await startSubmissionServer(t.ctx, { port: 0, host: '127.0.0.1', name: 'mamori.test', cert: pki.cert, key: pki.key }, settings);
});
after(async () => {
  await server?.close();
  await upstream?.close();
  await t?.close();
});

async function actorOf(login: string, over: Partial<Actor> = {}): Promise<Actor> {
  const u = (await identity.findUserByLogin(t.ctx, login))!;
  return {
    kind: 'user', userId: u.id as UserId, login: u.login, employmentType: u.employmentType, status: u.status, roles: u.roles, groupIds: u.groupIds,
    sessionRef: null, tokenId: null, mfa: true, passwordChangeRequired: false, terminal: { ip: '192.0.2.1', userAgent: 'test', deviceId: null }, requestId: null, grants: [], ...over,
  };
}

function client(opts: { user?: string; pass?: string; ignoreTLS?: boolean }) {
  return nodemailer.createTransport({
    host: '127.0.0.1', port: server.port, secure: false,
    ...(opts.ignoreTLS ? { ignoreTLS: true } : { requireTLS: true, tls: { ca, servername: 'localhost' } }),
    ...(opts.user ? { auth: { user: opts.user, pass: opts.pass ?? '' } } : {}),
    logger: false,
  });
}

const message = (extra: Partial<SendMailOptions> = {}): SendMailOptions => ({
  from: 'ito@mamori.test', to: 'buyer@client.example', subject: '打ち合わせの件', text: '来週火曜でお願いします。', ...extra,
});

async function held() {
  return t.ctx.db.selectFrom('transmissions').selectAll().orderBy('created_at', 'desc').execute();
}

test('AUTH before STARTTLS is refused, and so is mail without AUTH', async () => {
  await assert.rejects(client({ user: 'handler', pass: PASSWORD, ignoreTLS: true }).sendMail(message()), (e: { responseCode?: number; code?: string }) => e.code === 'EAUTH' && e.responseCode === 538);
  await assert.rejects(client({}).sendMail(message()), (e: { responseCode?: number }) => e.responseCode === 530);
  assert.equal((await held()).length, 0);
});

test('a wrong password or another user\'s token is refused (and audited)', async () => {
  await assert.rejects(client({ user: 'handler', pass: 'not the password at all' }).sendMail(message()), (e: { code?: string; responseCode?: number }) => e.code === 'EAUTH' && e.responseCode === 535);
  await assert.rejects(client({ user: 'owner', pass: token }).sendMail(message()), (e: { code?: string }) => e.code === 'EAUTH');
  const denied = await t.ctx.db.selectFrom('audit_pending').select('payload').execute();
  const rules = denied.map((r) => JSON.parse(r.payload as string) as { action: string; rule: string; decision: string }).filter((e) => e.action === 'auth.login' && e.decision === 'deny').map((e) => e.rule);
  assert.ok(rules.includes('auth.bad_password') && rules.includes('auth.bad_token'), rules.join(','));
});

test('with an API token, over STARTTLS: accepted and held for the approver, nothing relayed', async () => {
  const info = await client({ user: 'handler', pass: token }).sendMail(message({ bcc: 'boss@client.example' }));
  assert.match(info.response, /Held for review as [0-9a-f-]{36} \(pending_approval\)/);
  const [row] = await held();
  assert.equal(row!.channel, 'smtp');
  assert.equal(row!.state, 'pending_approval');
  assert.deepEqual([...row!.recipients].sort(), ['boss@client.example', 'buyer@client.example'], 'the envelope decides the recipients (Bcc included)');
  assert.equal(row!.subject, '打ち合わせの件');
  assert.ok(row!.content && !row!.content.includes(Buffer.from('来週火曜')), 'stored encrypted');
  await advanceApprovals(t.ctx);
  await deliverQueued(t.ctx, settings.relay);
  assert.equal(upstream.received.length, 0, 'held: nothing delivered on submission');
});

test('with a password only, the message waits for the sender to confirm it with MFA', async () => {
  const info = await client({ user: 'handler', pass: PASSWORD }).sendMail(message({ subject: 'パスワードで送信' }));
  assert.match(info.response, /\(unconfirmed\)/);
  const row = (await held()).find((r) => r.subject === 'パスワードで送信')!;
  assert.equal(row.state, 'unconfirmed');
  assert.equal(row.approval_request_id, null, 'no approval is requested on one factor');
  await assert.rejects(confirm(t.ctx, await actorOf('handler', { mfa: false }), row.id), (e: { code?: string }) => e.code === 'auth.mfa_required');
  await assert.rejects(confirm(t.ctx, await actorOf('owner'), row.id), (e: { code?: string }) => e.code === 'policy.denied');
  const confirmed = await confirm(t.ctx, await actorOf('handler'), row.id);
  assert.equal(confirmed.state, 'pending_approval');
  assert.ok(confirmed.approvalRequestId);
});

test('the sender sends only as themselves, and within the size limit', async () => {
  await assert.rejects(client({ user: 'handler', pass: token }).sendMail(message({ from: 'ceo@mamori.test', envelope: { from: 'ito@mamori.test', to: 'buyer@client.example' } })),
    (e: { responseCode?: number; response?: string }) => e.responseCode === 550 && /transmission\.invalid/.test(e.response ?? ''));
  await assert.rejects(client({ user: 'handler', pass: token }).sendMail(message({ envelope: { from: 'ceo@mamori.test', to: 'buyer@client.example' } })),
    (e: { responseCode?: number }) => e.responseCode === 550);
  await assert.rejects(client({ user: 'handler', pass: token }).sendMail(message({ text: 'x'.repeat(100 * 1024) })), (e: { responseCode?: number }) => e.responseCode === 552);
  assert.equal((await held()).filter((r) => r.subject === '打ち合わせの件').length, 1, 'none of these was held');
});
