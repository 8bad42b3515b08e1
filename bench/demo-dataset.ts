// The demo contacts dataset in memory, with fresh random keys and no database: what the import's
// and export's profiles without PostgreSQL (import-stages, import-threads, export-stages) encode with.
import { randomBytes } from 'node:crypto';
import { wrapDataKey } from '../apps/server/src/platform/crypto/envelope.ts';
import { newId } from '../apps/server/src/platform/ids.ts';
import { RecordCodec } from '../apps/server/src/modules/vault/vault.codec.ts';
import { DEMO_CONTACT_FIELDS } from '../apps/server/src/modules/vault/vault.demo-data.ts';
import type { LoadedDataset } from '../apps/server/src/modules/vault/vault.datasets.ts';
import { DatasetKeys, keyAad } from '../apps/server/src/modules/vault/vault.keys.ts';
import type { DatasetField, DatasetView } from '../apps/server/src/modules/vault/vault.types.ts';

export function demoDataset(): LoadedDataset {
  const id = newId<'DatasetId'>();
  const fields: DatasetField[] = DEMO_CONTACT_FIELDS.map((f, position) => ({
    name: f.name, position, labelJa: f.labelJa, labelEn: f.labelEn, classification: f.classification, kind: f.kind, search: f.search,
  }));
  const view = { id, name: 'contacts', fields } as unknown as DatasetView;
  const master = randomBytes(32);
  const keyring = { activeId: 'mk_0000000000000000', keys: new Map([['mk_0000000000000000', master]]) };
  const rows = (['data', 'index'] as const).map((purpose) => {
    const keyId = `${purpose}-1`;
    const { masterKeyId, wrapped } = wrapDataKey(keyring, randomBytes(32), keyAad(id, purpose, keyId));
    return { key_id: keyId, purpose, master_key_id: masterKeyId, wrapped, active: true };
  });
  const keys = DatasetKeys.fromRows(keyring, id, rows);
  const codec = new RecordCodec(view, keys, new Map(fields.map((f, i) => [f.name, i + 1])));
  return { view, keys, codec, policy: { id, ownerUserId: null, purposes: [], fields: [] }, fieldByName: new Map(fields.map((f) => [f.name, f])) } as unknown as LoadedDataset;
}
