/** The dense result table: one row per record, masked values grey, a button per row to open it. */
import { ActionIcon, Table, Text, Tooltip } from '@mantine/core';
import { IconLock, IconChevronRight } from '@tabler/icons-react';
import { isPersonalLevel } from '@mamori/contracts';
import { useTranslation } from 'react-i18next';
import { MaskedValue } from '../../components/badges.tsx';
import { fieldLabel } from '../../components/labels.ts';
import { useLang } from '../../i18n/index.ts';
import type { DatasetView, RecordView } from '../../lib/types.ts';

/** Long values (addresses, kana) are cut with an ellipsis; the full value is in the record view. */
const WIDE_KINDS = new Set(['address', 'kana']);
const ELLIPSIS = { overflow: 'hidden', textOverflow: 'ellipsis' } as const;

export function ResultsTable({ dataset, fields, records, offset, onOpen }: {
  dataset: DatasetView;
  fields: string[];
  records: RecordView[];
  offset: number;
  onOpen: (id: string) => void;
}) {
  const { t } = useTranslation();
  const lang = useLang();
  const defs = fields.map((name) => dataset.fields.find((f) => f.name === name)).filter((f) => f !== undefined);
  return (
    <Table.ScrollContainer minWidth={Math.max(900, defs.length * 120)} maxHeight="calc(100vh - 330px)">
      <Table aria-label={t('records.resultsLabel')} data-testid="results">
        <Table.Thead>
          <Table.Tr>
            <Table.Th w={36}><Text span size="xs">#</Text></Table.Th>
            {defs.map((f) => (
              <Table.Th key={f.name} className="nowrap">
                {isPersonalLevel(f.classification) && (
                  <Tooltip label={t('records.personalColumn')}>
                    <IconLock size={11} style={{ marginRight: 3, verticalAlign: -1 }} aria-label={t('records.personalColumn')} />
                  </Tooltip>
                )}
                {fieldLabel(f, lang)}
              </Table.Th>
            ))}
            <Table.Th w={40}><Text span size="xs" className="nowrap">{t('records.open')}</Text></Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {records.map((r, i) => (
            <Table.Tr key={r.id} data-clickable="true" onClick={() => onOpen(r.id)}>
              <Table.Td c="dimmed">{offset + i + 1}</Table.Td>
              {defs.map((f) => {
                const v = r.values[f.name];
                return (
                  <Table.Td key={f.name} className="nowrap" data-field={f.name} maw={WIDE_KINDS.has(f.kind) ? 240 : undefined} style={WIDE_KINDS.has(f.kind) ? ELLIPSIS : undefined} title={WIDE_KINDS.has(f.kind) && !r.masked.includes(f.name) ? v : undefined}>
                    {v === undefined ? <Text span c="dimmed" size="xs">—</Text> : r.masked.includes(f.name) ? <MaskedValue value={v} /> : v}
                  </Table.Td>
                );
              })}
              <Table.Td>
                <ActionIcon
                  variant="subtle"
                  size="sm"
                  aria-label={t('records.openRow', { n: offset + i + 1 })}
                  onClick={(e) => {
                    e.stopPropagation();
                    onOpen(r.id);
                  }}
                >
                  <IconChevronRight size={14} />
                </ActionIcon>
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}
