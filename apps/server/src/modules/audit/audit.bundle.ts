/**
 * Proof bundles: one audit event, its canonical bytes, its leaf index, the RFC 9162 inclusion proof
 * against the latest signed checkpoint, the checkpoint note and the log's public key, in one JSON
 * file that anyone can check without Mamori's database (`mamori audit verify-proof <file>`).
 */
import { isDeepStrictEqual } from 'node:util';
import type { AppContext } from '../../platform/context.ts';
import { AppError } from '../../platform/errors.ts';
import { publicKeyFromRaw } from '../../platform/crypto/signing-key.ts';
import type { Actor } from '../identity/index.ts';
import { proveInclusion } from './audit.log.ts';
import { verifierKey, verifyCheckpointNote } from './audit.checkpoint.ts';
import { leafHash } from './audit.merkle.ts';
import { verifyInclusion } from './audit.proofs.ts';

export const PROOF_BUNDLE_FORMAT = 'mamori-audit-proof/v1';

export type ProofBundle = {
  format: typeof PROOF_BUNDLE_FORMAT;
  readme: string[];
  leafIndex: number;
  treeSize: number;
  /** The event's canonical bytes (UTF-8 JSON) in base64: exactly what the leaf hash covers. */
  eventBytes: string;
  /** The same bytes parsed, for reading; the verifier checks that it says the same. */
  event: unknown;
  /** SHA-256(0x00 ‖ eventBytes), base64. */
  leafHash: string;
  /** RFC 9162 inclusion proof (base64 hashes, from the leaf upwards). */
  inclusionProof: string[];
  /** The C2SP signed note of the checkpoint the proof is against. */
  checkpoint: string;
  logKey: { name: string; publicKey: string; verifierKey: string };
};

const README = [
  'Mamori audit proof bundle: one audit event and the proof that it is in the tamper-evident log.',
  'Check it: npx mamori audit verify-proof <this file> [--key <verifier key>]',
  'What is checked: (1) leaf = SHA-256(0x00 || base64-decoded eventBytes); (2) the RFC 9162 inclusion proof of that leaf at leafIndex',
  'leads to the root hash of the checkpoint of treeSize leaves; (3) the checkpoint (C2SP tlog-checkpoint signed note) carries a',
  'valid Ed25519 signature of the log key; (4) "event" is the same as the decoded bytes.',
  'The key inside the bundle only proves the bundle is self-consistent: compare logKey.verifierKey with the key your',
  'organisation published (the console shows it under Log integrity), or pass it with --key.',
  '監査証明バンドル: 監査イベント1件と、それが改ざん検知ログに含まれることの証明です。',
  '検証: npx mamori audit verify-proof <このファイル> [--key <検証鍵>]。バンドル内の鍵は自己整合性しか示しません。',
  '組織が公開している検証鍵（コンソールの「ログの完全性」に表示）と logKey.verifierKey を照合するか、--key で指定してください。',
];

/** The proof bundle of the event at `index`, against the latest checkpoint (audited as an inclusion proof). */
export async function buildProofBundle(ctx: AppContext, actor: Actor, index: number): Promise<ProofBundle> {
  const p = await proveInclusion(ctx, actor, index);
  if (p.event === null || p.leafHash === null) throw new AppError('not_found', 'No event at that index.');
  const bytes = Buffer.from(p.event, 'utf8');
  const key = ctx.auditLog.key;
  return {
    format: PROOF_BUNDLE_FORMAT,
    readme: README,
    leafIndex: p.index,
    treeSize: p.treeSize,
    eventBytes: bytes.toString('base64'),
    event: JSON.parse(p.event) as unknown,
    leafHash: p.leafHash,
    inclusionProof: p.proof,
    checkpoint: p.checkpoint,
    logKey: { name: key.name, publicKey: key.publicRaw.toString('base64'), verifierKey: verifierKey(key.name, key.publicRaw) },
  };
}

export type BundleCheck = { check: 'format' | 'key' | 'checkpoint' | 'leaf' | 'inclusion' | 'event'; ok: boolean; detail: string };
export type BundleReport = { ok: boolean; checks: BundleCheck[]; leafIndex: number | null; treeSize: number | null; keyFromBundle: boolean };

const B64 = /^[A-Za-z0-9+/]*={0,2}$/;
const b64 = (v: unknown): Buffer | null => (typeof v === 'string' && v.length % 4 === 0 && B64.test(v) ? Buffer.from(v, 'base64') : null);

/**
 * Verifies a proof bundle with nothing but its own content (and, when given, the trusted key).
 * Every check is reported; the first failing one says what is wrong.
 */
export function verifyProofBundle(input: unknown, trusted?: { name: string; publicRaw: Buffer }): BundleReport {
  const checks: BundleCheck[] = [];
  const done = (leafIndex: number | null, treeSize: number | null, keyFromBundle: boolean): BundleReport =>
    ({ ok: checks.length > 0 && checks.every((c) => c.ok), checks, leafIndex, treeSize, keyFromBundle });
  const b = (input ?? {}) as Partial<Record<keyof ProofBundle, unknown>>;
  const index = b.leafIndex;
  const size = b.treeSize;
  const proof = Array.isArray(b.inclusionProof) ? b.inclusionProof.map(b64) : null;
  const bytes = b64(b.eventBytes);
  const key = (b.logKey ?? {}) as { name?: unknown; publicKey?: unknown };
  if (b.format !== PROOF_BUNDLE_FORMAT || !Number.isSafeInteger(index) || !Number.isSafeInteger(size) || typeof b.checkpoint !== 'string' || !bytes || !proof || proof.some((x) => x === null)) {
    checks.push({ check: 'format', ok: false, detail: `not a ${PROOF_BUNDLE_FORMAT} bundle (or a field is malformed)` });
    return done(null, null, !trusted);
  }
  const leafIndex = index as number;
  const treeSize = size as number;

  // The key: the trusted one when given (it must be the one the bundle names), else the bundle's own.
  const bundleRaw = b64(key.publicKey);
  let name: string;
  let raw: Buffer;
  if (trusted) {
    name = trusted.name;
    raw = trusted.publicRaw;
    const same = bundleRaw !== null && bundleRaw.equals(raw) && key.name === name;
    checks.push({ check: 'key', ok: true, detail: same ? 'the bundle names the trusted key' : 'checked with the trusted key (the bundle names another)' });
  } else {
    if (typeof key.name !== 'string' || !bundleRaw || bundleRaw.length !== 32) {
      checks.push({ check: 'key', ok: false, detail: 'the bundle carries no valid Ed25519 log key' });
      return done(leafIndex, treeSize, true);
    }
    name = key.name;
    raw = bundleRaw;
    checks.push({ check: 'key', ok: true, detail: 'the key inside the bundle (compare it with the published one, or pass --key)' });
  }

  let publicKey;
  try {
    publicKey = publicKeyFromRaw(raw);
  } catch {
    checks.push({ check: 'key', ok: false, detail: 'not an Ed25519 public key' });
    return done(leafIndex, treeSize, !trusted);
  }
  const note = verifyCheckpointNote(b.checkpoint as string, name, publicKey, raw);
  if (!note.ok) {
    checks.push({ check: 'checkpoint', ok: false, detail: `checkpoint signature: ${note.reason}` });
    return done(leafIndex, treeSize, !trusted);
  }
  if (note.checkpoint.size !== treeSize) {
    checks.push({ check: 'checkpoint', ok: false, detail: `the checkpoint is of size ${note.checkpoint.size}, the bundle says ${treeSize}` });
    return done(leafIndex, treeSize, !trusted);
  }
  checks.push({ check: 'checkpoint', ok: true, detail: `signed checkpoint of ${treeSize} events (${note.checkpoint.origin})` });

  const leaf = leafHash(bytes);
  const statedLeaf = b64(b.leafHash);
  checks.push(statedLeaf === null || statedLeaf.equals(leaf)
    ? { check: 'leaf', ok: true, detail: `leaf hash ${leaf.toString('base64')}` }
    : { check: 'leaf', ok: false, detail: 'the event bytes do not hash to the stated leaf hash' });
  const included = verifyInclusion(leafIndex, treeSize, leaf, proof as Buffer[], note.checkpoint.root);
  checks.push({ check: 'inclusion', ok: included, detail: included ? `event ${leafIndex} is in the log the checkpoint signs` : 'the inclusion proof does not lead to the signed root' });

  let same: boolean;
  try {
    same = isDeepStrictEqual(JSON.parse(bytes.toString('utf8')) as unknown, b.event);
  } catch {
    same = false;
  }
  checks.push({ check: 'event', ok: same, detail: same ? 'the readable event matches the signed bytes' : 'the readable "event" differs from the signed bytes' });
  return done(leafIndex, treeSize, !trusted);
}
