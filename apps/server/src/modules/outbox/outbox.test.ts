/**
 * The outbox against real SMTP peers with TLS (smtp-server, the test CA): delivered with the right
 * headers over STARTTLS and implicit TLS; a relay offering no TLS or an untrusted certificate gets
 * nothing and the row is retried with the error recorded; a rolled-back transaction sends nothing;
 * without a relay the mail stays queued and visible.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, signIn, type TestApp } from '../../../test/support/app.ts';
import { startSmtpPeer, type SmtpPeer } from '../../../test/support/smtp.ts';
import { testPki } from '../../../test/support/tls.ts';
import { AppError } from '../../platform/errors.ts';
import { deliverDue, enqueueMail, outboxHandlers, outboxRepository, MAX_ATTEMPTS, type MailInput } from './index.ts';

let t: TestApp;
const peers: SmtpPeer[] = [];
const FROM = 'mamori@mamori.test';

before(async () => {
  t = await startTestApp({ demoContacts: 0 });
});
after(async () => {
  for (const p of peers) await p.close();
  await t.close();
});

async function peer(mode: 'implicit' | 'starttls' | 'plain'): Promise<SmtpPeer> {
  const p = await startSmtpPeer(mode);
  peers.push(p);
  return p;
}

async function useRelay(p: SmtpPeer, opts: { trustTestCa?: boolean } = {}) {
  t.ctx.mail = { url: p.url, from: FROM, ca: opts.trustTestCa === false ? null : (await testPki()).ca, auth: null };
}

async function deliver() {
  const { handlers, close } = outboxHandlers(t.ctx);
  try {
    return await deliverDue(t.ctx, handlers);
  } finally {
    close();
  }
}

const MAIL: MailInput = {
  to: ['secops@mamori.test'], cc: ['cpo@mamori.test'], bcc: ['archive@mamori.test'],
  subject: '【Mamori】アラート: 大量閲覧', text: 'アラートが発生しました。\nAn alert was raised.', category: 'alert', relatedId: 'a-1',
};

async function enqueue(mail: MailInput = MAIL): Promise<string> {
  return t.ctx.db.transaction().execute((tx) => enqueueMail(tx, t.clock, mail));
}

test('STARTTLS relay: delivered once, with From, To, Cc, Subject, Message-ID and category; Bcc only in the envelope', async () => {
  const p = await peer('starttls');
  await useRelay(p);
  const id = await enqueue();
  const r = await deliver();
  assert.deepEqual(r, { sent: 1, retrying: 0, failed: 0 });
  assert.equal(p.received.length, 1);
  const m = p.received[0]!;
  assert.equal(m.secure, true, 'the session was upgraded to TLS before the message');
  assert.equal(m.parsed.subject, MAIL.subject);
  assert.equal(m.parsed.from?.value[0]?.address, FROM);
  assert.deepEqual(m.parsed.to && !Array.isArray(m.parsed.to) ? m.parsed.to.value.map((a) => a.address) : null, ['secops@mamori.test']);
  assert.deepEqual(m.parsed.cc && !Array.isArray(m.parsed.cc) ? m.parsed.cc.value.map((a) => a.address) : null, ['cpo@mamori.test']);
  assert.equal(m.parsed.bcc, undefined, 'no Bcc header on the wire');
  assert.deepEqual(m.envelope.to.sort(), ['archive@mamori.test', 'cpo@mamori.test', 'secops@mamori.test']);
  assert.equal(m.parsed.messageId, `<${id}@mamori.test>`);
  assert.equal(m.parsed.headers.get('x-mamori-category'), 'alert');
  assert.match(m.parsed.text ?? '', /アラートが発生しました/);
  const row = await outboxRepository(t.ctx.db).get(id);
  assert.equal(row?.status, 'sent');
  assert.equal(row?.attempts, 1);
  assert.equal(await deliver().then((x) => x.sent), 0, 'a sent row is not sent again');
  assert.equal(p.received.length, 1);
});

test('implicit TLS relay (smtps://) delivers too', async () => {
  const p = await peer('implicit');
  await useRelay(p);
  await enqueue({ ...MAIL, cc: [], bcc: [] });
  assert.equal((await deliver()).sent, 1);
  assert.equal(p.received.length, 1);
  assert.equal(p.received[0]!.secure, true);
});

test('a relay that offers no TLS receives nothing; the row is retried with back-off and the error recorded without addresses', async () => {
  const p = await peer('plain');
  await useRelay(p);
  const id = await enqueue();
  assert.deepEqual(await deliver(), { sent: 0, retrying: 1, failed: 0 });
  assert.equal(p.received.length, 0);
  assert.equal(p.connections, 1, 'the relay was reached');
  let row = (await outboxRepository(t.ctx.db).get(id))!;
  assert.equal(row.status, 'pending');
  assert.equal(row.attempts, 1);
  assert.match(row.last_error ?? '', /TLS/i);
  assert.doesNotMatch(row.last_error ?? '', /@/, 'no address in the recorded error');
  assert.equal(new Date(row.next_attempt_at).getTime() - t.clock.now().getTime(), 30_000);

  // Not due yet: nothing happens. Due: tried again, still refused.
  assert.deepEqual(await deliver(), { sent: 0, retrying: 0, failed: 0 });
  t.clock.advance(30_000);
  assert.deepEqual(await deliver(), { sent: 0, retrying: 1, failed: 0 });
  row = (await outboxRepository(t.ctx.db).get(id))!;
  assert.equal(row.attempts, 2);
  assert.equal(new Date(row.next_attempt_at).getTime() - t.clock.now().getTime(), 60_000, 'back-off doubles');

  // After MAX_ATTEMPTS the row is given up as failed: visible, never silently dropped.
  for (let i = 2; i < MAX_ATTEMPTS; i++) {
    t.clock.advance(3_600_000);
    await deliver();
  }
  row = (await outboxRepository(t.ctx.db).get(id))!;
  assert.equal(row.status, 'failed');
  assert.equal(row.attempts, MAX_ATTEMPTS);
  assert.equal(p.received.length, 0);
  t.clock.advance(3_600_000);
  assert.deepEqual(await deliver(), { sent: 0, retrying: 0, failed: 0 });
});

test('an untrusted certificate (CA not configured, system roots only) is refused: nothing delivered, error recorded', async () => {
  const p = await peer('starttls');
  await useRelay(p, { trustTestCa: false });
  const id = await enqueue();
  assert.deepEqual(await deliver(), { sent: 0, retrying: 1, failed: 0 });
  assert.equal(p.received.length, 0);
  const row = (await outboxRepository(t.ctx.db).get(id))!;
  assert.match(row.last_error ?? '', /certificate/i);
  // The same relay, once its CA is configured, gets the mail on the next attempt.
  await useRelay(p);
  t.clock.advance(30_000);
  assert.equal((await deliver()).sent, 1);
  assert.equal(p.received.length, 1);
});

test('a rolled-back transaction leaves no mail', async () => {
  const p = await peer('starttls');
  await useRelay(p);
  await assert.rejects(t.ctx.db.transaction().execute(async (tx) => {
    await enqueueMail(tx, t.clock, { ...MAIL, relatedId: 'rolled-back' });
    throw new Error('business rule failed after the mail was queued');
  }), /business rule failed/);
  assert.equal((await outboxRepository(t.ctx.db).byRelated('alert', 'rolled-back')).length, 0);
  assert.equal((await deliver()).sent, 0);
  assert.equal(p.received.length, 0);
});

test('two workers at once deliver each row exactly once (claims skip locked and leased rows)', async () => {
  const p = await peer('starttls');
  await useRelay(p);
  for (let i = 0; i < 5; i++) await enqueue({ ...MAIL, cc: [], bcc: [], relatedId: `pair-${i}` });
  const [a, b] = await Promise.all([deliver(), deliver()]);
  assert.equal(a.sent + b.sent, 5);
  assert.equal(p.received.length, 5);
});

test('bad input is refused with request.invalid and nothing is written', async () => {
  const before = (await outboxRepository(t.ctx.db).counts()).reduce((n, c) => n + c.n, 0);
  for (const bad of [
    { ...MAIL, to: [] },
    { ...MAIL, to: ['not-an-address'] },
    { ...MAIL, cc: ['a@b.test\r\nBcc: x@y.test'] },
    { ...MAIL, subject: 'two\r\nlines' },
    { ...MAIL, category: 'Not A Category' },
  ]) {
    await assert.rejects(enqueue(bad), (e: unknown) => e instanceof AppError && e.code === 'request.invalid');
  }
  const afterCount = (await outboxRepository(t.ctx.db).counts()).reduce((n, c) => n + c.n, 0);
  assert.equal(afterCount, before);
});

test('without a relay mail stays queued, and the status API and /metrics show it; a handler may not read the status', async () => {
  t.ctx.mail = null;
  const { handlers } = outboxHandlers(t.ctx);
  assert.equal(handlers.size, 0, 'no mail handler without a relay');
  const id = await enqueue({ ...MAIL, relatedId: 'queued' });
  assert.deepEqual(await deliver(), { sent: 0, retrying: 0, failed: 0 });
  assert.equal((await outboxRepository(t.ctx.db).get(id))?.status, 'pending');

  const secops = await signIn(t, 'secops');
  const s = await secops.request('GET', '/api/outbox/status');
  assert.equal(s.status, 200);
  const mail = s.json.kinds.find((k: { kind: string }) => k.kind === 'mail');
  assert.equal(mail.configured, false);
  assert.ok(mail.pending >= 1);
  assert.ok(mail.oldestPendingAt);

  const metrics = await t.app.inject({ method: 'GET', url: '/metrics' });
  assert.match(metrics.body, /mamori_outbox_delivery_configured\{kind="mail"\} 0/);
  const pending = /mamori_outbox_rows\{kind="mail",status="pending"\} (\d+)/.exec(metrics.body);
  assert.ok(pending && Number(pending[1]) >= 1, 'queued mail is counted on /metrics');

  const handler = await signIn(t, 'handler');
  const denied = await handler.request('GET', '/api/outbox/status');
  assert.equal(denied.status, 403);
});
