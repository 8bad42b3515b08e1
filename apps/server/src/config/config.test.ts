import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from './config.ts';

test('embedded defaults: port 3000, ./data, demo on, no database URL', () => {
  const c = loadConfig({}, '/srv/mamori');
  assert.equal(c.port, 3000);
  assert.equal(c.dataDir, '/srv/mamori/data');
  assert.equal(c.masterKeyFile, '/srv/mamori/data/keys/master.json');
  assert.equal(c.databaseUrl, null);
  assert.equal(c.demo, true);
});

test('PORT and MAMORI_DATA_DIR change the port and the folder', () => {
  const c = loadConfig({ PORT: '8080', MAMORI_DATA_DIR: '/var/lib/mamori' }, '/srv');
  assert.equal(c.port, 8080);
  assert.equal(c.dataDir, '/var/lib/mamori');
});

test('production (DATABASE_URL) refuses to start without a master key: there is no default secret', () => {
  assert.throws(() => loadConfig({ DATABASE_URL: 'postgres://db/mamori' }, '/srv'), ConfigError);
  assert.throws(() => loadConfig({ DATABASE_URL: 'postgres://db/mamori', MAMORI_MASTER_KEY: Buffer.alloc(32, 7).toString('base64') }, '/srv'), /MAMORI_LOG_KEY_FILE/);
  const withKey = loadConfig({ DATABASE_URL: 'postgres://db/mamori', MAMORI_MASTER_KEY: Buffer.alloc(32, 7).toString('base64'), MAMORI_LOG_KEY_FILE: '/etc/mamori/log.json' }, '/srv');
  assert.equal(withKey.demo, false, 'production does not seed demo data unless asked');
});

test('bad numbers and booleans are refused with the variable named', () => {
  assert.throws(() => loadConfig({ PORT: 'eighty' }, '/srv'), /PORT/);
  assert.throws(() => loadConfig({ MAMORI_DEMO: 'perhaps' }, '/srv'), /MAMORI_DEMO/);
});

test('SMTP: TLS schemes only, no credentials in the URL, a From address required', () => {
  assert.equal(loadConfig({}, '/srv').smtpUrl, null, 'no relay by default: mail stays queued');
  assert.throws(() => loadConfig({ MAMORI_SMTP_URL: 'http://relay', MAMORI_MAIL_FROM: 'm@x.test' }, '/srv'), /MAMORI_SMTP_URL/);
  assert.throws(() => loadConfig({ MAMORI_SMTP_URL: 'smtps://u:p@relay:465', MAMORI_MAIL_FROM: 'm@x.test' }, '/srv'), /MAMORI_SMTP_AUTH_FILE/);
  assert.throws(() => loadConfig({ MAMORI_SMTP_URL: 'smtps://relay:465' }, '/srv'), /MAMORI_MAIL_FROM/);
  const c = loadConfig({ MAMORI_SMTP_URL: 'smtp://relay:587', MAMORI_MAIL_FROM: 'm@x.test', MAMORI_SMTP_CA_FILE: 'ca.pem' }, '/srv');
  assert.equal(c.smtpCaFile, '/srv/ca.pem');
  assert.equal(c.mailFrom, 'm@x.test');
});

test('gateway: relay over TLS schemes only and without credentials in the URL; the submission port needs its certificate and key', () => {
  const d = loadConfig({}, '/srv').gateway;
  assert.equal(d.relayUrl, null, 'no relay by default: approved messages stay queued');
  assert.equal(d.submission, null, 'the submission port is off unless configured');
  assert.equal(d.maxMessageBytes, 25 * 1024 * 1024);
  assert.throws(() => loadConfig({ MAMORI_RELAY_URL: 'http://relay' }, '/srv'), /MAMORI_RELAY_URL/);
  assert.throws(() => loadConfig({ MAMORI_RELAY_URL: 'smtp://u:p@relay:587' }, '/srv'), /MAMORI_RELAY_AUTH_FILE/);
  assert.throws(() => loadConfig({ MAMORI_SUBMISSION_PORT: '587' }, '/srv'), /MAMORI_SUBMISSION_CERT_FILE/);
  const c = loadConfig({ MAMORI_RELAY_URL: 'smtps://relay:465', MAMORI_RELAY_CA_FILE: 'ca.pem', MAMORI_SUBMISSION_PORT: '1587', MAMORI_SUBMISSION_CERT_FILE: 'c.pem', MAMORI_SUBMISSION_KEY_FILE: 'k.pem' }, '/srv').gateway;
  assert.equal(c.relayCaFile, '/srv/ca.pem');
  assert.equal(c.submission?.port, 1587);
  assert.equal(c.submission?.keyFile, '/srv/k.pem');
});

test('OIDC: https issuer, client id and a secret file required, redirect from the public URL, group roles and MFA values parsed', () => {
  assert.equal(loadConfig({}, '/srv').oidc, null, 'no SSO by default');
  const base = { MAMORI_OIDC_ISSUER: 'https://login.microsoftonline.com/tenant/v2.0', MAMORI_OIDC_CLIENT_ID: 'app', MAMORI_OIDC_CLIENT_SECRET_FILE: 'oidc.secret', MAMORI_PUBLIC_URL: 'https://mamori.example.co.jp' };
  assert.throws(() => loadConfig({ ...base, MAMORI_OIDC_ISSUER: 'http://idp.example' }, '/srv'), /https/);
  assert.throws(() => loadConfig({ ...base, MAMORI_OIDC_CLIENT_ID: '' }, '/srv'), /MAMORI_OIDC_CLIENT_ID/);
  assert.throws(() => loadConfig({ ...base, MAMORI_OIDC_CLIENT_SECRET_FILE: '' }, '/srv'), /MAMORI_OIDC_CLIENT_SECRET_FILE/);
  assert.throws(() => loadConfig({ ...base, MAMORI_PUBLIC_URL: '' }, '/srv'), /MAMORI_OIDC_REDIRECT_URL/);
  assert.throws(() => loadConfig({ ...base, MAMORI_OIDC_GROUP_ROLES: 'g1=superuser' }, '/srv'), /superuser/);
  const c = loadConfig({ ...base, MAMORI_OIDC_GROUP_ROLES: 'g1=handler, g2=cpo|data_owner, g1=hr', MAMORI_OIDC_MFA_AMR: 'mfa,otp', MAMORI_OIDC_MATCH_CLAIM: 'oid' }, '/srv');
  assert.equal(c.oidc!.issuer, 'https://login.microsoftonline.com/tenant/v2.0', 'the issuer is kept exactly');
  assert.equal(c.oidc!.redirectUrl, 'https://mamori.example.co.jp/api/auth/oidc/callback');
  assert.equal(c.oidc!.clientSecretFile, '/srv/oidc.secret');
  assert.deepEqual(c.oidc!.groupRoles, { g1: ['handler', 'hr'], g2: ['cpo', 'data_owner'] });
  assert.deepEqual([c.oidc!.mfaAmr, c.oidc!.mfaAcr, c.oidc!.matchClaim, c.oidc!.matchEmail], [['mfa', 'otp'], [], 'oid', false]);
  assert.deepEqual(loadConfig(base, '/srv').oidc!.mfaAmr, ['mfa'], 'default: only an explicit mfa counts');
});

test('public URL (passkeys) and the door webhook: https only (http for localhost), no credentials in URLs', () => {
  assert.equal(loadConfig({ MAMORI_PUBLIC_URL: 'http://localhost:3000' }, '/srv').publicUrl, 'http://localhost:3000');
  assert.throws(() => loadConfig({ MAMORI_PUBLIC_URL: 'http://10.0.0.5:3000' }, '/srv'), /MAMORI_PUBLIC_URL/);
  assert.throws(() => loadConfig({ MAMORI_PUBLIC_URL: 'https://mamori.example.co.jp/console' }, '/srv'), /origin/);
  assert.equal(loadConfig({}, '/srv').doorWebhook, null);
  assert.throws(() => loadConfig({ MAMORI_DOOR_WEBHOOK_URL: 'http://doors.example/events' }, '/srv'), /https/);
  assert.throws(() => loadConfig({ MAMORI_DOOR_WEBHOOK_URL: 'https://u:p@doors.example/events' }, '/srv'), /AUTHORIZATION_FILE/);
  const d = loadConfig({ MAMORI_DOOR_WEBHOOK_URL: 'https://doors.example/events', MAMORI_DOOR_WEBHOOK_CA_FILE: 'ca.pem' }, '/srv').doorWebhook!;
  assert.deepEqual([d.url, d.caFile], ['https://doors.example/events', '/srv/ca.pem']);
});
