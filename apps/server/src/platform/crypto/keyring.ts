/**
 * Master key ring for envelope encryption. Master keys only ever wrap per-record data keys
 * (see envelope.ts); rotation adds a key and keeps the old ones so existing wrapped keys still
 * unwrap until they are re-wrapped.
 *
 * File format (JSON, mode 0600):
 *   { "version": 1, "active": "mk_…", "keys": [{ "id": "mk_<16 hex>", "key": "<base64 32 bytes>", "createdAt": "<ISO>" }] }
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import path from 'node:path';

export type MasterKeyring = { activeId: string; keys: ReadonlyMap<string, Buffer> };

type KeyEntry = { id: string; key: string; createdAt: string };
type KeyringDoc = { version: 1; active: string; keys: KeyEntry[] };

const KEY_BYTES = 32;
const ID_RE = /^mk_[0-9a-f]{16}$/;
// Strict standard base64 of exactly 32 bytes: Buffer.from(…, 'base64') silently skips junk
// characters, so a truncated or mangled secret would otherwise decode to a wrong-length key.
const KEY_B64_RE = /^[A-Za-z0-9+/]{43}=$/;
const IS_POSIX = process.platform !== 'win32';

/**
 * The id is derived from the key itself so the same key has the same id whether it comes from a
 * file or from a secret store (moving from one to the other keeps stored wrapped keys valid).
 */
function masterKeyId(key: Buffer): string {
  return 'mk_' + createHash('sha256').update(key).digest('hex').slice(0, 16);
}

function invalid(reason: string): Error {
  return new Error(`crypto.keyfile_invalid: ${reason}`);
}

function decodeKey(b64: string): Buffer | null {
  if (!KEY_B64_RE.test(b64)) return null;
  const key = Buffer.from(b64, 'base64');
  return key.length === KEY_BYTES ? key : null;
}

function parseDoc(text: string): { doc: KeyringDoc; ring: MasterKeyring } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw invalid('not JSON');
  }
  if (typeof raw !== 'object' || raw === null) throw invalid('not an object');
  const r = raw as Record<string, unknown>;
  if (r['version'] !== 1) throw invalid('unsupported version');
  const active = r['active'];
  if (typeof active !== 'string') throw invalid('missing active');
  const list = r['keys'];
  if (!Array.isArray(list) || list.length === 0) throw invalid('no keys');
  const keys = new Map<string, Buffer>();
  const entries: KeyEntry[] = [];
  list.forEach((item: unknown, i) => {
    if (typeof item !== 'object' || item === null) throw invalid(`keys[${i}] not an object`);
    const e = item as Record<string, unknown>;
    const { id, key, createdAt } = e;
    if (typeof id !== 'string' || !ID_RE.test(id)) throw invalid(`keys[${i}].id malformed`);
    if (keys.has(id)) throw invalid(`keys[${i}].id duplicated`);
    const bytes = typeof key === 'string' ? decodeKey(key) : null;
    if (!bytes) throw invalid(`keys[${i}].key is not base64 of ${KEY_BYTES} bytes`);
    if (typeof createdAt !== 'string' || Number.isNaN(Date.parse(createdAt))) {
      throw invalid(`keys[${i}].createdAt malformed`);
    }
    keys.set(id, bytes);
    entries.push({ id, key: key as string, createdAt });
  });
  if (!keys.has(active)) throw invalid('active key not in keys');
  return { doc: { version: 1, active, keys: entries }, ring: { activeId: active, keys } };
}

function newEntry(now: Date, taken: ReadonlySet<string>): { entry: KeyEntry; key: Buffer } {
  // A 64-bit id collision between two fresh random keys is not a practical concern, but a
  // duplicate id would make one key unreachable, so draw again rather than assume.
  for (;;) {
    const key = randomBytes(KEY_BYTES);
    const id = masterKeyId(key);
    if (!taken.has(id)) return { entry: { id, key: key.toString('base64'), createdAt: now.toISOString() }, key };
  }
}

function serialize(doc: KeyringDoc): string {
  return JSON.stringify(doc, null, 2) + '\n';
}

/** Best-effort directory fsync so a create/rename survives a crash; some filesystems refuse it. */
async function syncDir(dir: string): Promise<void> {
  if (!IS_POSIX) return;
  try {
    const d = await open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  } catch {
    // Durability of the directory entry is an extra; the data itself was already fsynced.
  }
}

/** Create a file that must not exist yet, 0600, and fsync it: losing the key file loses all data. */
async function writeNewFile(file: string, content: string): Promise<void> {
  const fh = await open(file, 'wx', 0o600);
  try {
    await fh.writeFile(content, 'utf8');
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Create a new keyring file with one fresh key. Never overwrites: fails with the native EEXIST
 * error if the file is already there.
 */
export async function createKeyringFile(file: string, now: Date): Promise<MasterKeyring> {
  const dir = path.dirname(file);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const { entry, key } = newEntry(now, new Set());
  await writeNewFile(file, serialize({ version: 1, active: entry.id, keys: [entry] }));
  await syncDir(dir);
  return { activeId: entry.id, keys: new Map([[entry.id, key]]) };
}

async function readDoc(file: string): Promise<{ doc: KeyringDoc; ring: MasterKeyring }> {
  // Stat the open handle rather than the path so the mode we check is the file we read.
  const fh = await open(file, 'r');
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw invalid('not a regular file');
    if (IS_POSIX && (st.mode & 0o077) !== 0) {
      throw new Error(`crypto.keyfile_insecure: ${file} is accessible to group/other; chmod 600 it`);
    }
    return parseDoc(await fh.readFile('utf8'));
  } finally {
    await fh.close();
  }
}

/**
 * Read and validate a keyring file. A missing file surfaces as the native ENOENT error so callers
 * can decide to create one; see also openOrCreateKeyringFile.
 */
export async function readKeyringFile(file: string): Promise<MasterKeyring> {
  return (await readDoc(file)).ring;
}

/** Embedded-mode startup: read the keyring, creating it on first run. */
export async function openOrCreateKeyringFile(file: string, now: Date): Promise<MasterKeyring> {
  try {
    return await readKeyringFile(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  try {
    return await createKeyringFile(file, now);
  } catch (e) {
    // Another process created it between our read and create: use theirs.
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    return await readKeyringFile(file);
  }
}

/**
 * Add a fresh key and make it active, keeping the old ones. The file is replaced atomically
 * (0600 temp file in the same directory, fsync, rename) so a crash leaves either the old or the
 * new keyring, never a torn one. Concurrent rotations of one file are not coordinated here: the
 * CLI runs rotation as a single operator action.
 */
export async function rotateKeyringFile(file: string, now: Date): Promise<MasterKeyring> {
  const { doc } = await readDoc(file);
  const { entry } = newEntry(now, new Set(doc.keys.map((k) => k.id)));
  const next: KeyringDoc = { version: 1, active: entry.id, keys: [...doc.keys, entry] };
  const content = serialize(next);
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeNewFile(tmp, content);
    await rename(tmp, file);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await syncDir(dir);
  return parseDoc(content).ring;
}

/**
 * Production: the master key comes from a secret store as base64 (surrounding whitespace, such as
 * a trailing newline from a mounted secret, is ignored). Previous keys may be passed so that data
 * keys wrapped before a rotation still unwrap.
 */
export function keyringFromBase64(activeKeyB64: string, previousKeysB64: readonly string[] = []): MasterKeyring {
  const keys = new Map<string, Buffer>();
  let activeId = '';
  [activeKeyB64, ...previousKeysB64].forEach((b64, i) => {
    const key = decodeKey(b64.trim());
    if (!key) throw new Error(`crypto.master_key_invalid: key #${i} is not base64 of ${KEY_BYTES} bytes`);
    const id = masterKeyId(key);
    if (i === 0) activeId = id;
    keys.set(id, key);
  });
  return { activeId, keys };
}
