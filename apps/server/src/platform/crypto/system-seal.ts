/**
 * Sealing of small system secrets (TOTP seeds) under a key derived from the master keyring.
 * The blob names the master key it was sealed under, so a rotated keyring still opens old blobs.
 */
import { hkdfSync } from 'node:crypto';
import { open, seal } from './envelope.ts';
import type { MasterKeyring } from './keyring.ts';

function derive(master: Buffer, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), `mamori/system/${purpose}/v1`, 32));
}

export function sealSystemSecret(keyring: MasterKeyring, purpose: string, plaintext: Buffer, aad: string): Buffer {
  const master = keyring.keys.get(keyring.activeId);
  if (!master) throw new Error('crypto.unknown_master_key');
  const id = Buffer.from(keyring.activeId, 'utf8');
  return Buffer.concat([Buffer.from([id.length]), id, seal(derive(master, purpose), plaintext, Buffer.from(aad, 'utf8'))]);
}

export function openSystemSecret(keyring: MasterKeyring, purpose: string, blob: Buffer, aad: string): Buffer {
  const len = blob[0] ?? 0;
  const id = blob.subarray(1, 1 + len).toString('utf8');
  const master = keyring.keys.get(id);
  if (!master) throw new Error('crypto.unknown_master_key');
  return open(derive(master, purpose), blob.subarray(1 + len), Buffer.from(aad, 'utf8'));
}
