/**
 * Notifications are mailed: `notify()` writes the in-app row and, in the same transaction, one mail
 * per recipient with an address through the outbox, delivered over TLS to a real SMTP peer.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestApp, type TestApp, actorOf as actorOfUser } from './support/app.ts';
import { startSmtpPeer, type SmtpPeer } from './support/smtp.ts';
import { testPki } from './support/tls.ts';
import type { Actor } from '../src/modules/identity/index.ts';
import * as approvals from '../src/modules/approvals/index.ts';
import { deliverDue, outboxHandlers } from '../src/modules/outbox/index.ts';

let t: TestApp;
let peer: SmtpPeer;

before(async () => {
  t = await startTestApp({ demoContacts: 0 });
  peer = await startSmtpPeer('starttls');
  t.ctx.mail = { url: peer.url, from: 'mamori@mamori.test', ca: (await testPki()).ca, auth: null };
});
after(async () => {
  await peer?.close();
  await t?.close();
});

const actorOf = (login: string): Promise<Actor> => actorOfUser(t, login);

test('approvers are told in the console and by mail (one mail each, only those with an address)', async () => {
  for (const [login, email] of [['cpo', 'cpo@mamori.test'], ['owner', 'owner@mamori.test'], ['secops', null]] as const) {
    await t.ctx.db.updateTable('users').set({ email }).where('login', '=', login).execute();
  }
  const handler = await actorOf('handler');
  const request = await t.ctx.db.transaction().execute((tx) =>
    approvals.fileRequest(t.ctx, tx, handler, { kind: 'general', summary: '書類の持ち出し', scope: { purpose: '監査対応' } }));
  const told = await t.ctx.db.selectFrom('notifications').innerJoin('users', 'users.id', 'notifications.user_id')
    .select('users.login').where('notifications.kind', '=', 'approval.requested').execute();
  assert.deepEqual(told.map((r) => r.login).sort(), ['cpo', 'owner', 'secops'], 'every eligible approver has the in-app notification');

  const { handlers, close } = outboxHandlers(t.ctx);
  try {
    assert.deepEqual(await deliverDue(t.ctx, handlers), { sent: 2, retrying: 0, failed: 0 });
  } finally {
    close();
  }
  const to = peer.received.map((m) => m.envelope.to).sort();
  assert.deepEqual(to, [['cpo@mamori.test'], ['owner@mamori.test']], 'one mail per person with an address, nobody sees the others');
  for (const m of peer.received) {
    assert.equal(m.secure, true);
    assert.match(m.parsed.subject ?? '', /^\[Mamori\] /);
    assert.match(m.parsed.text ?? '', /書類の持ち出し/, 'the same words as in the console');
    assert.ok((m.parsed.text ?? '').includes(request.id), 'with the link to the request');
  }
});
