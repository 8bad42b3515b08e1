import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ephemeralSigningKey } from '../../platform/crypto/signing-key.ts';
import { checkpointBody, signCheckpoint, verifyCheckpointNote } from './audit.checkpoint.ts';
import { leafHash } from './audit.merkle.ts';

const key = ephemeralSigningKey('mamori.example/audit');
const cp = { origin: 'mamori.example/audit', size: 42, root: leafHash(Buffer.from('x')) };

test('a checkpoint is the C2SP body (origin, size, base64 root) followed by one signature line', () => {
  const note = signCheckpoint(cp, key);
  assert.ok(note.startsWith(checkpointBody(cp)));
  const [, sigLine] = note.split('\n\n');
  assert.match(sigLine!, /^\u2014 mamori\.example\/audit [A-Za-z0-9+/]{91}=\n$/);
  const r = verifyCheckpointNote(note, key.name, key.publicKey, key.publicRaw);
  assert.ok(r.ok);
  assert.equal(r.ok && r.checkpoint.size, 42);
});

test('a forged size, root or signature is refused', () => {
  const note = signCheckpoint(cp, key);
  assert.deepEqual(verifyCheckpointNote(note.replace('\n42\n', '\n43\n'), key.name, key.publicKey, key.publicRaw), { ok: false, reason: 'bad_signature' });
  const other = ephemeralSigningKey(key.name);
  assert.equal(verifyCheckpointNote(signCheckpoint(cp, other), key.name, key.publicKey, key.publicRaw).ok, false);
  assert.deepEqual(verifyCheckpointNote('garbage', key.name, key.publicKey, key.publicRaw), { ok: false, reason: 'malformed' });
});
