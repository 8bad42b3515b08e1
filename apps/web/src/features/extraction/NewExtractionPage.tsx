/**
 * New extraction: dataset, fields, an optional filter, format, purpose and recipient; the row count
 * and a masked preview; then the approval request. Nothing leaves until a second person approves.
 */
import { useMemo, useState } from 'react';
import { Alert, Button, Checkbox, Group, Paper, Radio, Select, SimpleGrid, Stack, Table, Text, TextInput } from '@mantine/core';
import { useMutation, useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { EXPORT_FORMATS, type ExportFormat, type ExtractionInput } from '@mamori/contracts';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { Loading } from '../../components/states.tsx';
import { useLang } from '../../i18n/index.ts';
import { navigate } from '../../app/router.ts';
import { datasets, fileExtraction, preview } from './api.ts';

export default function NewExtractionPage() {
  const { t } = useTranslation();
  const lang = useLang();
  const list = useQuery({ queryKey: ['extraction', 'datasets'], queryFn: datasets });
  const [dsName, setDsName] = useState<string | null>(null);
  const ds = list.data?.find((d) => d.name === (dsName ?? list.data?.[0]?.name));
  const [fields, setFields] = useState<string[]>([]);
  const [purpose, setPurpose] = useState<string | null>(null);
  const [filterField, setFilterField] = useState<string | null>(null);
  const [filterValue, setFilterValue] = useState('');
  const [format, setFormat] = useState<ExportFormat>('csv_utf8');
  const [recipientKind, setRecipientKind] = useState<'internal' | 'third_party'>('internal');
  const [recipient, setRecipient] = useState({ name: '', address: '', representative: '' });

  const input = useMemo<ExtractionInput | null>(() => {
    if (!ds || fields.length === 0) return null;
    const p = purpose ?? ds.purposes[0];
    if (!p) return null;
    const f = filterField ? ds.fields.find((x) => x.name === filterField) : undefined;
    return {
      dataset: ds.name, purpose: p, fields: ds.fields.filter((x) => fields.includes(x.name)).map((x) => x.name), format,
      criteria: f && filterValue.trim() ? [{ field: f.name, op: f.search === 'prefix' ? 'prefix' : 'exact', value: filterValue.trim() }] : [],
      recipient: recipientKind === 'internal' ? { kind: 'internal' } : { kind: 'third_party', ...recipient },
    };
  }, [ds, fields, purpose, filterField, filterValue, format, recipientKind, recipient]);

  const check = useMutation({ mutationFn: (i: ExtractionInput) => preview(i) });
  const submit = useMutation({ mutationFn: (i: ExtractionInput) => fileExtraction(i), onSuccess: () => navigate('/extractions/mine') });

  if (list.isPending) return <Loading />;
  if (list.error) return <ErrorAlert error={list.error} onRetry={() => void list.refetch()} />;
  const label = (f: { labelJa: string; labelEn: string }) => (lang === 'ja' ? f.labelJa : f.labelEn);
  const thirdPartyIncomplete = recipientKind === 'third_party' && (!recipient.name.trim() || !recipient.address.trim() || !recipient.representative.trim());

  return (
    <Stack gap="sm" maw={980}>
      <Text size="sm">{t('extraction.new.intro')}</Text>
      <Paper withBorder p="sm">
        <SimpleGrid cols={{ base: 1, sm: 3 }}>
          <Select label={t('extraction.dataset')} data={(list.data ?? []).map((d) => ({ value: d.name, label: label(d) }))} value={ds?.name ?? null}
            onChange={(v) => { setDsName(v); setFields([]); setFilterField(null); check.reset(); }} allowDeselect={false} />
          <Select label={t('extraction.purpose')} data={ds?.purposes ?? []} value={purpose ?? ds?.purposes[0] ?? null} onChange={setPurpose} allowDeselect={false} />
          <Select label={t('extraction.format')} data={EXPORT_FORMATS.map((f) => ({ value: f, label: t(`extraction.formats.${f}`) }))} value={format} onChange={(v) => v && setFormat(v as ExportFormat)} allowDeselect={false} />
        </SimpleGrid>
      </Paper>
      {ds && (
        <Paper withBorder p="sm">
          <Group justify="space-between" mb={4}>
            <Text fw={600} size="sm">{t('extraction.fields')}</Text>
            <Button size="compact-xs" variant="subtle" onClick={() => setFields(ds.fields.map((f) => f.name))}>{t('extraction.allFields')}</Button>
          </Group>
          <Checkbox.Group value={fields} onChange={setFields}>
            <SimpleGrid cols={{ base: 2, sm: 4 }} spacing={4}>
              {ds.fields.map((f) => (
                <Checkbox key={f.name} value={f.name} size="xs" label={`${label(f)} (${t(`classification.${f.classification}`)})`} />
              ))}
            </SimpleGrid>
          </Checkbox.Group>
          <SimpleGrid cols={{ base: 1, sm: 2 }} mt="sm">
            <Select label={t('extraction.filterField')} clearable data={ds.fields.filter((f) => f.search !== 'none').map((f) => ({ value: f.name, label: label(f) }))} value={filterField} onChange={setFilterField} />
            <TextInput label={t('extraction.filterValue')} description={t('extraction.filterHint')} value={filterValue} onChange={(e) => setFilterValue(e.currentTarget.value)} disabled={!filterField} autoComplete="off" />
          </SimpleGrid>
        </Paper>
      )}
      <Paper withBorder p="sm">
        <Radio.Group label={t('extraction.recipient')} value={recipientKind} onChange={(v) => setRecipientKind(v as 'internal' | 'third_party')}>
          <Group mt={4}>
            <Radio value="internal" label={t('extraction.internal')} />
            <Radio value="third_party" label={t('extraction.thirdParty')} />
          </Group>
        </Radio.Group>
        {recipientKind === 'third_party' && (
          <SimpleGrid cols={{ base: 1, sm: 3 }} mt="xs">
            <TextInput label={t('extraction.recipientName')} value={recipient.name} onChange={(e) => setRecipient({ ...recipient, name: e.currentTarget.value })} required maxLength={300} />
            <TextInput label={t('extraction.recipientAddress')} value={recipient.address} onChange={(e) => setRecipient({ ...recipient, address: e.currentTarget.value })} required maxLength={300} />
            <TextInput label={t('extraction.recipientRepresentative')} value={recipient.representative} onChange={(e) => setRecipient({ ...recipient, representative: e.currentTarget.value })} required maxLength={300} />
          </SimpleGrid>
        )}
        {recipientKind === 'third_party' && <Text size="xs" c="dimmed" mt={4}>{t('extraction.thirdPartyHint')}</Text>}
      </Paper>
      <Group>
        <Button variant="default" disabled={!input || thirdPartyIncomplete} loading={check.isPending} onClick={() => input && check.mutate(input)}>{t('extraction.preview')}</Button>
        <Button disabled={!input || thirdPartyIncomplete || !check.data} loading={submit.isPending} onClick={() => input && submit.mutate(input)}>{t('extraction.submit')}</Button>
      </Group>
      <ErrorAlert error={check.error ?? submit.error} compact showMessage />
      {check.data && ds && (
        <Paper withBorder p="sm">
          <Alert variant="light" mb="xs" data-testid="extraction-count">{t('extraction.count', { rows: check.data.rows, suppressed: check.data.suppressed })}</Alert>
          <Table.ScrollContainer minWidth={600}>
            <Table striped withTableBorder fz="xs">
              <Table.Thead><Table.Tr>{(input?.fields ?? []).map((f) => <Table.Th key={f}>{label(ds.fields.find((x) => x.name === f)!)}</Table.Th>)}</Table.Tr></Table.Thead>
              <Table.Tbody>
                {check.data.sample.map((row, i) => <Table.Tr key={i}>{(input?.fields ?? []).map((f) => <Table.Td key={f}>{row[f]}</Table.Td>)}</Table.Tr>)}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
          <Text size="xs" c="dimmed" mt={4}>{t('extraction.previewHint')}</Text>
        </Paper>
      )}
    </Stack>
  );
}
