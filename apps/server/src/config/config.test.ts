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
