/**
 * The outbound gateway against real SMTP peers (smtp-server with the test CA): nothing leaves on
 * submission; after approval a message arrives exactly once, with the sender's supervisor in the
 * envelope (BCC) when it has attachments and not otherwise; an upstream without TLS or with a
 * certificate from an unknown CA receives nothing and the message stays held with its error code; a
 * valid マイナンバー and a ZIP bomb are blocked; the sender can never approve their own message; a
 * personal-data send to a third party writes the Art. 29 provision record; the register lists it.
 */
import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { Zip, ZipDeflate, zipSync } from 'fflate';
import { signIn, startTestApp, type Session, type TestApp, actorOf as actorOfUser } from './support/app.ts';
import { startSmtpPeer, type SmtpPeer } from './support/smtp.ts';
import { testPki } from './support/tls.ts';
import { identity, type Actor } from '../src/modules/identity/index.ts';
import * as approvals from '../src/modules/approvals/index.ts';
import { advanceApprovals, compose, DEFAULT_RULES, deliverQueued, getRules, getTransmission, updateRules, type RelaySettings, type TransmissionSettings } from '../src/modules/transmissions/index.ts';
import { listProvisionRecords } from '../src/modules/extraction/index.ts';

let t: TestApp;
let tls: SmtpPeer;
let plain: SmtpPeer;
let relay: RelaySettings;
const settings = (): TransmissionSettings => ({ relay, maxBytes: 25 * 1024 * 1024, messageIdDomain: 'mamori.test' });

const EMAILS: Record<string, string> = {
  handler: 'ito@mamori.test', owner: 'tanaka@mamori.test', approver: 'kato@mamori.test', cio: 'yoshida@mamori.test', cpo: 'sato@mamori.test', secops: 'suzuki@mamori.test',
};

before(async () => {
  t = await startTestApp({ demoContacts: 0 });
  tls = await startSmtpPeer('starttls');
  plain = await startSmtpPeer('plain');
  relay = { url: tls.url, ca: (await testPki()).ca, auth: null };
  for (const [login, email] of Object.entries(EMAILS)) await t.ctx.db.updateTable('users').set({ email }).where('login', '=', login).execute();
  // A second transmission approver, so that a request filed by the first one can still be approved by somebody.
  const cio = (await identity.findUserByLogin(t.ctx, 'cio'))!;
  await t.ctx.db.insertInto('user_roles').values({ user_id: cio.id, role: 'transmission_approver', granted_at: new Date() }).execute();
  const rules = await getRules(t.ctx, await actorOf('secops'));
  await updateRules(t.ctx, await actorOf('secops'), { ...DEFAULT_RULES, internalDomains: ['mamori.test'] }, rules.version);
});
after(async () => {
  await tls?.close();
  await plain?.close();
  await t?.close();
});
beforeEach(() => {
  tls.received.length = 0;
  plain.received.length = 0;
});

const actorOf = (login: string): Promise<Actor> => actorOfUser(t, login);

function attachment(name: string, content: Buffer | string, contentType = 'text/plain') {
  return { name, contentType, contentBase64: Buffer.from(content).toString('base64') };
}

async function send(login: string, input: { to: string[]; subject?: string; body?: string; attachments?: ReturnType<typeof attachment>[] }) {
  return compose(t.ctx, await actorOf(login), settings(), { to: input.to, cc: [], subject: input.subject ?? 'ご提案資料', body: input.body ?? 'お世話になっております。', attachments: input.attachments ?? [] });
}

async function approve(requestId: string, login = 'approver') {
  return approvals.decide(t.ctx, await actorOf(login), requestId, 'approve', '内容を確認しました');
}

async function stateOf(id: string) {
  return t.ctx.db.selectFrom('transmissions').select(['state', 'delivery_error', 'attempts', 'content', 'bcc_user_id']).where('id', '=', id).executeTakeFirstOrThrow();
}

async function events(action: string): Promise<{ decision: string; rule: string; details: Record<string, unknown> }[]> {
  const rows = (await sql<{ payload: string }>`SELECT payload FROM audit_events UNION ALL SELECT payload FROM audit_pending`.execute(t.ctx.db)).rows;
  return rows.map((r) => JSON.parse(r.payload) as { action: string; decision: string; rule: string; details: Record<string, unknown> }).filter((e) => e.action === action);
}

/** A valid マイナンバー: 11 digits and the official check digit. */
function myNumber(body: string): string {
  let sum = 0;
  for (let n = 1; n <= 11; n++) sum += Number(body[11 - n]) * (n <= 6 ? n + 1 : n - 5);
  const r = sum % 11;
  return body + String(r <= 1 ? 0 : 11 - r);
}

void test('a message with an attachment is held until approved, then arrives exactly once with the supervisor in the envelope (BCC)', async () => {
  const held = await send('handler', { to: ['buyer@client.example'], attachments: [attachment('見積書.txt', '御見積 合計 120,000円')] });
  assert.equal(held.state, 'pending_approval');
  assert.ok(held.reasons.includes('attachments'), 'attachments always need an approver');
  assert.ok(held.approvalRequestId);

  // Before approval: the worker runs, nothing goes out.
  await advanceApprovals(t.ctx);
  await deliverQueued(t.ctx, relay);
  assert.equal(tls.received.length, 0, 'nothing delivered before approval');
  assert.equal((await stateOf(held.id)).state, 'pending_approval');

  // The approver sees sender, recipients, subject, attachment names — never the body or the file.
  const request = await approvals.getRequest(t.ctx, await actorOf('approver'), held.approvalRequestId);
  assert.equal(request.kind, 'transmission');
  assert.match(String(request.scope.sender), /ito@mamori\.test/);
  assert.deepEqual(request.scope.recipients, ['buyer@client.example']);
  assert.equal(request.scope.subject, 'ご提案資料');
  assert.deepEqual(request.scope.attachments, [`見積書.txt (${Buffer.byteLength('御見積 合計 120,000円')} B)`]);
  assert.ok(!JSON.stringify(request).includes('120,000'), 'no attachment content in what the approver sees');
  assert.ok(!JSON.stringify(request).includes('お世話になっております'), 'no body in what the approver sees');

  await approve(held.approvalRequestId);
  // Two workers at once, then a third run: one delivery.
  await advanceApprovals(t.ctx);
  const [a, b] = await Promise.all([deliverQueued(t.ctx, relay), deliverQueued(t.ctx, relay)]);
  assert.equal(a.delivered + b.delivered, 1);
  await advanceApprovals(t.ctx);
  assert.deepEqual(await deliverQueued(t.ctx, relay), { delivered: 0, retrying: 0, failed: 0 });
  assert.equal(tls.received.length, 1, 'exactly once');
  const m = tls.received[0]!;
  assert.equal(m.secure, true, 'over TLS');
  assert.equal(m.envelope.from, 'ito@mamori.test');
  assert.deepEqual([...m.envelope.to].sort(), ['buyer@client.example', 'tanaka@mamori.test'], 'the supervisor (owner) is a recipient of the envelope');
  assert.ok(!/^bcc:/im.test(m.raw), 'BCC: no header names the supervisor');
  assert.equal(m.parsed.attachments[0]?.filename, '見積書.txt');
  assert.equal(m.parsed.attachments[0]?.content.toString(), '御見積 合計 120,000円');

  const after = await stateOf(held.id);
  assert.equal(after.state, 'delivered');
  assert.equal(after.content, null, 'the stored message is deleted once delivered');
  const view = await getTransmission(t.ctx, await actorOf('handler'), held.id);
  assert.equal(view.bcc?.login, 'owner');
  assert.deepEqual(view.approvedBy.map((p) => p.login), ['approver']);
  assert.ok((await events('approval.consume')).some((e) => e.details.requestId === held.approvalRequestId && e.decision === 'allow'), 'the approval was used (once)');
  assert.ok((await events('transmission.deliver')).some((e) => e.details.transmissionId === held.id && e.details.phase === 'delivered'));
  const told = await t.ctx.db.selectFrom('notifications').select('kind').where('user_id', '=', view.sender.id).execute();
  assert.ok(told.some((n) => n.kind === 'approval.approved') && told.some((n) => n.kind === 'transmission.delivered'), 'the sender is told');
});

void test('without attachments the supervisor is not copied; an internal, clean message goes directly', async () => {
  const ext = await send('handler', { to: ['buyer@client.example'], body: '来週の打ち合わせの件、承知しました。' });
  assert.equal(ext.state, 'pending_approval');
  assert.deepEqual(ext.reasons, ['external']);
  await approve(ext.approvalRequestId!);
  const internal = await send('handler', { to: ['colleague@mamori.test'], body: '会議室を予約しました。' });
  assert.equal(internal.route, 'direct');
  assert.equal(internal.state, 'queued');
  await advanceApprovals(t.ctx);
  assert.equal((await deliverQueued(t.ctx, relay)).delivered, 2);
  const toExternal = tls.received.find((m) => m.envelope.to.includes('buyer@client.example'))!;
  assert.deepEqual(toExternal.envelope.to, ['buyer@client.example'], 'no BCC without attachments');
  assert.deepEqual(tls.received.find((m) => m.envelope.to.includes('colleague@mamori.test'))!.envelope.to, ['colleague@mamori.test']);
});

void test('an upstream without TLS, or with a certificate from an unknown CA, receives nothing: the message stays held with the error code', async () => {
  const held = await send('handler', { to: ['buyer@client.example'], body: '資料を送付します。' });
  await approve(held.approvalRequestId!);
  await advanceApprovals(t.ctx);

  const noTls = await deliverQueued(t.ctx, { url: plain.url, ca: relay.ca, auth: null });
  assert.deepEqual(noTls, { delivered: 0, retrying: 1, failed: 0 });
  assert.equal(plain.received.length, 0, 'the plain upstream got no message');
  let s = await stateOf(held.id);
  assert.equal(s.state, 'queued');
  assert.equal(s.delivery_error, 'relay.no_tls');
  assert.ok(s.content, 'still held, to be retried');

  // The retry comes after its back-off; this time the upstream's certificate is from a CA we do not trust.
  t.clock.advance(60_000);
  const unknownCa = await deliverQueued(t.ctx, { url: tls.url, ca: null, auth: null });
  assert.deepEqual(unknownCa, { delivered: 0, retrying: 1, failed: 0 });
  assert.equal(tls.received.length, 0, 'the untrusted upstream got no message');
  s = await stateOf(held.id);
  assert.equal(s.delivery_error, 'relay.bad_certificate');
  assert.equal(s.attempts, 2);
  const failures = (await events('transmission.deliver')).filter((e) => e.details.transmissionId === held.id && e.details.phase === 'retry');
  assert.deepEqual(failures.map((e) => e.details.error), ['relay.no_tls', 'relay.bad_certificate']);

  // Not before its next attempt time; then, with the right relay, it goes once.
  assert.equal((await deliverQueued(t.ctx, relay)).delivered, 0);
  t.clock.advance(120_000);
  assert.equal((await deliverQueued(t.ctx, relay)).delivered, 1);
  assert.equal(tls.received.length, 1);
  assert.equal((await stateOf(held.id)).delivery_error, null);
});

void test('a message carrying a valid マイナンバー is blocked: never stored, never sent, the sender told; a number failing its check digit is not', async () => {
  const number = myNumber('12345678901');
  const blocked = await send('handler', { to: ['colleague@mamori.test'], body: `マイナンバー: ${number}\nよろしくお願いします。` });
  assert.equal(blocked.state, 'blocked');
  assert.ok(blocked.reasons.includes('block:my_number'));
  assert.equal(blocked.approvalRequestId, null);
  assert.ok(!JSON.stringify(blocked).includes(number), 'the finding is masked');
  assert.equal((await stateOf(blocked.id)).content, null, 'a blocked message is not kept');
  await advanceApprovals(t.ctx);
  await deliverQueued(t.ctx, relay);
  assert.equal(tls.received.length, 0);
  const told = await t.ctx.db.selectFrom('notifications').select('params').where('kind', '=', 'transmission.blocked').execute();
  assert.ok(told.some((n) => JSON.stringify(n.params).includes(blocked.id)));

  const wrong = number.slice(0, 11) + String((Number(number[11]) + 1) % 10);
  const fine = await send('handler', { to: ['colleague@mamori.test'], body: `管理番号: ${wrong}` });
  assert.equal(fine.state, 'queued', 'a number failing the check digit is not a マイナンバー: internal and clean, it goes directly');
  assert.equal((await deliverQueued(t.ctx, relay)).delivered, 1);
});

void test('a large list is judged on every finding, not only the ones listed: a マイナンバー after 500 e-mail addresses still blocks; the record keeps 200 findings', async () => {
  const rows = Array.from({ length: 500 }, (_, i) => `営業${i},user${i}@client.example`);
  const number = myNumber('98765432109');
  const csv = ['氏名,メール', ...rows, `最後,user-last@client.example`].join('\n') + `\n\nマイナンバー: ${number}\n`;
  const blocked = await send('handler', { to: ['colleague@mamori.test'], attachments: [attachment('名簿.txt', csv)] });
  assert.equal(blocked.state, 'blocked');
  assert.ok(blocked.reasons.includes('block:my_number'), blocked.reasons.join(' '));
  const row = await t.ctx.db.selectFrom('transmissions').select(['findings', 'summary']).where('id', '=', blocked.id).executeTakeFirstOrThrow();
  const listed = (typeof row.findings === 'string' ? JSON.parse(row.findings) : row.findings) as { kind: string }[];
  const summary = (typeof row.summary === 'string' ? JSON.parse(row.summary) : row.summary) as Record<string, number>;
  assert.equal(listed.length, 200, 'the approver sees the first 200 findings');
  assert.ok(!listed.some((f) => f.kind === 'my_number'), 'the deciding finding was not among those listed');
  assert.equal(summary.email, 501, 'every finding is counted');
  assert.equal(summary.my_number, 1);
});

void test('the sender can never approve their own message, whatever roles they hold', async () => {
  const held = await send('approver', { to: ['partner@client.example'], attachments: [attachment('契約書.txt', '契約条件')] });
  assert.equal(held.state, 'pending_approval');
  await assert.rejects(approve(held.approvalRequestId!, 'approver'), (e: { code?: string; details?: { rule?: string } }) => e.code === 'policy.denied' && e.details?.rule === 'approval.self');
  assert.ok((await events('approval.decide')).some((e) => e.decision === 'deny' && e.rule === 'approval.self'), 'the refusal is audited');
  await advanceApprovals(t.ctx);
  await deliverQueued(t.ctx, relay);
  assert.equal(tls.received.length, 0, 'still held');
  // The other approver may.
  await approve(held.approvalRequestId!, 'cio');
  await advanceApprovals(t.ctx);
  assert.equal((await deliverQueued(t.ctx, relay)).delivered, 1);
  assert.deepEqual([...tls.received[0]!.envelope.to].sort(), ['partner@client.example', 'sato@mamori.test'], "the approver's own supervisor (the CPO) is copied");
});

void test('a ZIP bomb attachment is blocked without exhausting memory', async () => {
  // 1 GiB of zeros, deflated to about a megabyte, streamed so that the test itself stays small.
  const chunks: Uint8Array[] = [];
  const zip = new Zip((err, data) => {
    if (err) throw err;
    chunks.push(data);
  });
  const entry = new ZipDeflate('zeros.csv', { level: 9 });
  zip.add(entry);
  const mb = new Uint8Array(1024 * 1024);
  for (let i = 0; i < 1024; i++) entry.push(mb, i === 1023);
  zip.end();
  const bomb = Buffer.concat(chunks);
  assert.ok(bomb.length < 5 * 1024 * 1024, 'the bomb is small on the wire');
  const nested = Buffer.from(zipSync({ 'inner.zip': bomb, 'readme.txt': Buffer.from('see inner') }, { level: 0 }));

  const before = process.memoryUsage().rss;
  const held = await send('handler', { to: ['buyer@client.example'], attachments: [attachment('data.zip', nested, 'application/zip')] });
  const grown = process.memoryUsage().rss - before;
  assert.equal(held.state, 'blocked');
  assert.ok(held.reasons.some((r) => r.startsWith('scan_error:')), `blocked for the scan error (${held.reasons.join(', ')})`);
  assert.ok(held.scanErrors.some((e) => e.code === 'DLP_LIMIT_EXCEEDED'));
  assert.ok(grown < 512 * 1024 * 1024, `memory stayed bounded (grew ${Math.round(grown / 1048576)} MiB for a 1 GiB bomb)`);
  assert.equal(held.approvalRequestId, null);
});

void test('personal data to a third party: approved, delivered, and the Art. 29 provision record written with the delivery', async () => {
  const held = await send('handler', { to: ['hr@partner.example', 'colleague@mamori.test'], body: '担当者: 山田様 電話 03-1234-5678 メール yamada@partner.example' });
  assert.equal(held.state, 'pending_approval');
  assert.ok(held.reasons.includes('finding:phone'), held.reasons.join(','));
  const request = await approvals.getRequest(t.ctx, await actorOf('approver'), held.approvalRequestId!);
  const findings = JSON.stringify(request.scope.findings);
  assert.match(findings, /phone/);
  assert.ok(!findings.includes('1234-5678'), 'findings are masked for the approver');
  await approve(held.approvalRequestId!);
  await advanceApprovals(t.ctx);
  assert.equal((await deliverQueued(t.ctx, relay)).delivered, 1);
  const view = await getTransmission(t.ctx, await actorOf('handler'), held.id);
  assert.ok(view.provisionRecordId, 'the provision record is linked');
  const records = await listProvisionRecords(t.ctx, await actorOf('cpo'), null);
  const record = records.find((r) => r.transmissionId === held.id)!;
  assert.equal(record.extractionId, null);
  assert.equal(record.recipientName, 'hr@partner.example', 'only the third party, not the internal recipient');
  assert.ok(record.dataItems.includes('phone'));

  // An internal-only send of the same words is not a provision.
  const internal = await send('handler', { to: ['colleague@mamori.test'], body: '電話 03-1234-5678' });
  await approve(internal.approvalRequestId!);
  await advanceApprovals(t.ctx);
  await deliverQueued(t.ctx, relay);
  assert.equal((await getTransmission(t.ctx, await actorOf('handler'), internal.id)).provisionRecordId, null);
});

void test('rejected: nothing sent, content deleted, the sender told with the reason; the register (and CSV) show what went where and who approved', async () => {
  const held = await send('handler', { to: ['buyer@client.example'], attachments: [attachment('名簿.csv', '氏名,部署\n山田,営業')] });
  await approvals.decide(t.ctx, await actorOf('approver'), held.approvalRequestId!, 'reject', '名簿の社外送付は不可');
  await advanceApprovals(t.ctx);
  await deliverQueued(t.ctx, relay);
  assert.equal(tls.received.length, 0);
  const s = await stateOf(held.id);
  assert.equal(s.state, 'rejected');
  assert.equal(s.content, null);

  const approver: Session = await signIn(t, 'approver');
  const reg = await approver.request('GET', '/api/transmissions/register');
  assert.equal(reg.status, 200);
  const rows = reg.json.transmissions as { id: string; state: string; approvedBy: { login: string }[]; recipients: string[]; deliveredAt: string | null }[];
  assert.equal(rows.find((r) => r.id === held.id)?.state, 'rejected');
  const delivered = rows.filter((r) => r.state === 'delivered');
  assert.ok(delivered.length >= 4);
  assert.ok(delivered.every((r) => r.deliveredAt !== null));
  const csv = await t.app.inject({ method: 'GET', url: '/api/transmissions/register.csv', headers: { cookie: `mamori_session=${approver.cookie}` } });
  assert.equal(csv.statusCode, 200);
  assert.match(csv.body, /^\uFEFFid,created_at,channel,state/);
  assert.ok(csv.body.includes(held.id));
  assert.ok((await events('transmission.register.read')).length >= 2, 'register reads are audited');

  // A handler is not an overseer: the register is refused, their own list is not.
  const handler = await signIn(t, 'handler');
  assert.equal((await handler.request('GET', '/api/transmissions/register')).status, 403);
  const mine = await handler.request('GET', '/api/transmissions');
  assert.ok((mine.json.transmissions as { id: string }[]).some((x) => x.id === held.id));
  // Compose through the API too: held, never sent on submission.
  const r = await handler.request('POST', '/api/transmissions', { to: ['buyer@client.example'], cc: [], subject: '件名', body: '本文', attachments: [attachment('a.txt', 'x')] });
  assert.equal(r.status, 201);
  assert.equal(r.json.transmission.state, 'pending_approval');
  const bad = await handler.request('POST', '/api/transmissions', { to: ['not an address'], cc: [], subject: '件名', body: '本文', attachments: [] });
  assert.equal(bad.status, 400);
  assert.equal(bad.json.error.code, 'transmission.invalid');
  assert.equal(tls.received.length, 0);
});
