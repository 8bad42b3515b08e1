/**
 * The bulk import's shortcut through the codec (check, then encode with the normalised values it
 * kept) must give exactly what the single-record path gives: the same problems as checkValues and
 * the same search terms as termsOf, byte for byte, so imported records are found by the same searches.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { open, wrapDataKey } from '../../platform/crypto/envelope.ts';
import { newId } from '../../platform/ids.ts';
import { aadFor, RecordCodec, type FieldProblem } from './vault.codec.ts';
import type { LoadedDataset } from './vault.datasets.ts';
import { DEMO_CONTACT_FIELDS, generateDemoContacts } from './vault.demo-data.ts';
import { DatasetKeys, keyAad } from './vault.keys.ts';
import { checkValues } from './vault.records.ts';
import type { DatasetField, DatasetView } from './vault.types.ts';

function demoCodec(): { codec: RecordCodec; keys: DatasetKeys; view: DatasetView; ds: LoadedDataset } {
  const id = newId<'DatasetId'>();
  const fields: DatasetField[] = DEMO_CONTACT_FIELDS.map((f, position) => ({
    name: f.name, position, labelJa: f.labelJa, labelEn: f.labelEn, classification: f.classification, kind: f.kind, search: f.search,
  }));
  const view = { id, name: 'contacts', fields } as unknown as DatasetView;
  const keyring = { activeId: 'mk_0000000000000000', keys: new Map([['mk_0000000000000000', randomBytes(32)]]) };
  const keys = DatasetKeys.fromRows(
    keyring,
    id,
    (['data', 'index'] as const).map((purpose) => {
      const { masterKeyId, wrapped } = wrapDataKey(keyring, randomBytes(32), keyAad(id, purpose, `${purpose}-1`));
      return { key_id: `${purpose}-1`, purpose, master_key_id: masterKeyId, wrapped, active: true };
    }),
  );
  const codec = new RecordCodec(view, keys, new Map(fields.map((f, i) => [f.name, i + 1])));
  // checkValues reads only the field map.
  const ds = { fieldByName: new Map(fields.map((f) => [f.name, f])) } as unknown as LoadedDataset;
  return { codec, keys, view, ds };
}

// Values that pass and fail validation, with the characters normalisation cares about.
const TRICKY = [' ', '\u3000', '\t', '\u00a0', '\u0301', 'ｶ', 'ﾞ', '０', '９', 'Ａ', 'か', 'ゝ', 'İ', 'ß', '①', '㍻', 'e', '@', '.', '-', '+', '\u0007'];
const valueArb = fc.oneof(
  fc.array(fc.constantFrom(...TRICKY), { maxLength: 14 }).map((a) => a.join('')),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.constantFrom('', '03-1234-5678', '０９０−１２３４−５６７８', '+81 3 1234 5678', 'Taro.Yamada@Example.CO.JP', '１００－０００５', '山田　太郎', 'ヤマダ タロウ', 'やまだ たろう'),
);

test('check + encode(trimmed) = checkValues + termsOf, for demo rows and arbitrary values (2,000 runs)', () => {
  const { codec, keys, view, ds } = demoCodec();
  const names = DEMO_CONTACT_FIELDS.map((f) => f.name);
  const demo = [...generateDemoContacts(50, 7)] as unknown as Record<string, string>[];
  const trimmed: (string | undefined)[] = new Array<string | undefined>(codec.fieldCount).fill(undefined);
  fc.assert(
    fc.property(
      fc.nat({ max: demo.length - 1 }),
      fc.array(fc.tuple(fc.constantFrom(...names, 'unknown_column'), valueArb), { maxLength: 4 }),
      (base, changes) => {
        const values: Record<string, string> = { ...demo[base] };
        for (const [name, value] of changes) values[name] = value;
        const problems: FieldProblem[] = [];
        codec.check(values, problems, trimmed);
        assert.deepEqual(problems, checkValues(ds, values));
        if (problems.length > 0) return;
        const id = newId<'RecordId'>();
        const encoded = codec.encode(id, values, trimmed);
        assert.deepEqual(encoded.terms, codec.termsOf(values));
        assert.deepEqual(encoded.terms, codec.encode(id, values).terms);
        // The sealed part opens to the personal values.
        const personal = JSON.parse(open(keys.activeDataKey, encoded.sealed!, aadFor(view.id, id)).toString('utf8')) as Record<string, string>;
        for (const f of DEMO_CONTACT_FIELDS) {
          if (f.classification === 'public' || f.classification === 'internal') continue;
          assert.equal(personal[f.name], values[f.name] === '' ? undefined : values[f.name]);
        }
      },
    ),
    { seed: 20261126, numRuns: 2000 },
  );
});
