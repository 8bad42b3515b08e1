/**
 * The audit log's Ed25519 signing key. Embedded mode creates it on first run (file mode 0600);
 * production points MAMORI_LOG_KEY_FILE at one. The file holds the key name and the PKCS#8 key.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';

export type SigningKey = { name: string; privateKey: KeyObject; publicKey: KeyObject; publicRaw: Buffer };

function fromPkcs8(name: string, pkcs8: Buffer): SigningKey {
  const privateKey = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
  const publicKey = createPublicKey(privateKey);
  // The raw 32-byte Ed25519 public key is the last 32 bytes of its SPKI encoding.
  const publicRaw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  return { name, privateKey, publicKey, publicRaw: Buffer.from(publicRaw) };
}

export async function readSigningKey(file: string): Promise<SigningKey> {
  if (process.platform !== 'win32' && ((await stat(file)).mode & 0o077) !== 0) throw new Error('crypto.keyfile_insecure');
  const j = JSON.parse(await readFile(file, 'utf8')) as { name?: unknown; pkcs8?: unknown };
  if (typeof j.name !== 'string' || typeof j.pkcs8 !== 'string') throw new Error('crypto.keyfile_invalid');
  return fromPkcs8(j.name, Buffer.from(j.pkcs8, 'base64'));
}

export async function openOrCreateSigningKey(file: string, name: string): Promise<SigningKey> {
  try {
    return await readSigningKey(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const { privateKey } = generateKeyPairSync('ed25519');
  const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  try {
    await writeFile(file, JSON.stringify({ version: 1, name, pkcs8: pkcs8.toString('base64') }), { mode: 0o600, flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  return readSigningKey(file);
}

/** For tests and tools: a key that lives only in memory. */
export function ephemeralSigningKey(name: string): SigningKey {
  const { privateKey } = generateKeyPairSync('ed25519');
  return fromPkcs8(name, privateKey.export({ format: 'der', type: 'pkcs8' }));
}

export function publicKeyFromRaw(raw: Buffer): KeyObject {
  const prefix = Buffer.from('302a300506032b6570032100', 'hex');
  return createPublicKey({ key: Buffer.concat([prefix, raw]), format: 'der', type: 'spki' });
}
