/**
 * Per-dataset keys, unwrapped from the database with the master keyring and kept in memory:
 * data keys (by id: records sealed under an older key still open) and the blind-index key, from
 * which one HMAC key per field is derived.
 */
import { deriveFieldKey } from '../../platform/crypto/blind-index.ts';
import { unwrapDataKey } from '../../platform/crypto/envelope.ts';
import type { MasterKeyring } from '../../platform/crypto/keyring.ts';
import { AppError } from '../../platform/errors.ts';

export type KeyRow = { key_id: string; purpose: 'data' | 'index'; master_key_id: string; wrapped: Buffer; active: boolean };

export function keyAad(datasetId: string, purpose: string, keyId: string): string {
  return `mamori/dataset-key/v1/${datasetId}/${purpose}/${keyId}`;
}

export class DatasetKeys {
  private readonly fieldKeys = new Map<string, Buffer>();
  private constructor(
    readonly activeDataKeyId: string,
    private readonly dataKeys: ReadonlyMap<string, Buffer>,
    private readonly indexKey: Buffer,
  ) {}

  static fromRows(keyring: MasterKeyring, datasetId: string, rows: readonly KeyRow[]): DatasetKeys {
    const data = new Map<string, Buffer>();
    let active: string | null = null;
    let index: Buffer | null = null;
    for (const r of rows) {
      const key = unwrapDataKey(keyring, r.master_key_id, r.wrapped, keyAad(datasetId, r.purpose, r.key_id));
      if (r.purpose === 'data') {
        data.set(r.key_id, key);
        if (r.active) active = r.key_id;
      } else if (r.active) index = key;
    }
    if (!active || !index) throw new AppError('internal', 'Dataset keys are incomplete.');
    return new DatasetKeys(active, data, index);
  }

  /** Keys that can only seal (the active data key) and blind-index: what an import's worker threads are given. */
  static forEncoding(activeDataKeyId: string, activeDataKey: Buffer, indexKey: Buffer): DatasetKeys {
    return new DatasetKeys(activeDataKeyId, new Map([[activeDataKeyId, activeDataKey]]), indexKey);
  }

  /** The keys forEncoding needs, for handing to an import's worker threads (same process). */
  encodingKeys(): { activeDataKeyId: string; activeDataKey: Buffer; indexKey: Buffer } {
    return { activeDataKeyId: this.activeDataKeyId, activeDataKey: this.activeDataKey, indexKey: this.indexKey };
  }

  get activeDataKey(): Buffer {
    return this.dataKey(this.activeDataKeyId);
  }

  dataKey(id: string): Buffer {
    const k = this.dataKeys.get(id);
    if (!k) throw new AppError('internal', 'A record is sealed under an unknown data key.');
    return k;
  }

  /** Every data key by id (for exports that decrypt on worker threads). */
  dataKeyEntries(): [string, Buffer][] {
    return [...this.dataKeys.entries()];
  }

  fieldKey(field: string): Buffer {
    let k = this.fieldKeys.get(field);
    if (!k) {
      k = deriveFieldKey(this.indexKey, field);
      this.fieldKeys.set(field, k);
    }
    return k;
  }
}
