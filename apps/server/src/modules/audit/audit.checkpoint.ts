/**
 * Checkpoints in the C2SP tlog-checkpoint format, signed as C2SP signed notes with Ed25519:
 *
 *   <origin>\n<tree size>\n<base64 root hash>\n
 *   \n
 *   — <key name> <base64(key id ‖ signature)>\n
 *
 * key id = SHA-256(key name ‖ 0x0A ‖ 0x01 ‖ public key)[0:4]; the signature covers the body.
 */
import { createHash, sign, verify, type KeyObject } from 'node:crypto';
import type { SigningKey } from '../../platform/crypto/signing-key.ts';

export type Checkpoint = { origin: string; size: number; root: Buffer };

export function keyId(name: string, publicRaw: Buffer): Buffer {
  return createHash('sha256').update(name).update(Buffer.from([0x0a, 0x01])).update(publicRaw).digest().subarray(0, 4);
}

export function checkpointBody(c: Checkpoint): string {
  return `${c.origin}\n${c.size}\n${c.root.toString('base64')}\n`;
}

export function signCheckpoint(c: Checkpoint, key: SigningKey): string {
  const body = checkpointBody(c);
  const sig = sign(null, Buffer.from(body, 'utf8'), key.privateKey);
  return `${body}\n\u2014 ${key.name} ${Buffer.concat([keyId(key.name, key.publicRaw), sig]).toString('base64')}\n`;
}

export type NoteCheck = { ok: true; checkpoint: Checkpoint } | { ok: false; reason: 'malformed' | 'bad_signature' | 'unknown_key' };

export function verifyCheckpointNote(note: string, name: string, publicKey: KeyObject, publicRaw: Buffer): NoteCheck {
  const split = note.indexOf('\n\n');
  if (split < 0) return { ok: false, reason: 'malformed' };
  const body = note.slice(0, split + 1);
  const lines = body.split('\n');
  if (lines.length !== 4 || !/^\d+$/.test(lines[1]!) || !/^[A-Za-z0-9+/]{43}=$/.test(lines[2]!)) return { ok: false, reason: 'malformed' };
  const wantId = keyId(name, publicRaw);
  for (const line of note.slice(split + 2).split('\n')) {
    const m = /^\u2014 (\S+) ([A-Za-z0-9+/=]+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const blob = Buffer.from(m[2]!, 'base64');
    if (blob.length !== 68 || !blob.subarray(0, 4).equals(wantId)) continue;
    const good = verify(null, Buffer.from(body, 'utf8'), publicKey, blob.subarray(4));
    if (!good) return { ok: false, reason: 'bad_signature' };
    return { ok: true, checkpoint: { origin: lines[0]!, size: Number(lines[1]), root: Buffer.from(lines[2]!, 'base64') } };
  }
  return { ok: false, reason: 'unknown_key' };
}

/**
 * The log's public key as a C2SP signed-note verifier key, `<name>+<hex key id>+<base64(0x01 ‖ key)>`:
 * what independent tools (e.g. golang.org/x/mod/sumdb/note) take to check the checkpoints.
 */
export function verifierKey(name: string, publicRaw: Buffer): string {
  return `${name}+${keyId(name, publicRaw).toString('hex')}+${Buffer.concat([Buffer.from([0x01]), publicRaw]).toString('base64')}`;
}

/** Parses a verifier key (see verifierKey); null when it is not an Ed25519 key whose id matches. */
export function parseVerifierKey(vkey: string): { name: string; publicRaw: Buffer } | null {
  const m = /^([^+\s]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/=]+)$/.exec(vkey.trim());
  if (!m) return null;
  const blob = Buffer.from(m[3]!, 'base64');
  if (blob.length !== 33 || blob[0] !== 0x01) return null;
  const publicRaw = blob.subarray(1);
  if (keyId(m[1]!, publicRaw).toString('hex') !== m[2]) return null;
  return { name: m[1]!, publicRaw };
}
