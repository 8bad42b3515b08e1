/** The opt-out suppression list (CPO and security center): entries by blind index, never the value. */
import { useState } from 'react';
import { Button, Group, Paper, Select, SimpleGrid, Stack, Table, Text, TextInput } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { SUPPRESSION_KINDS, type SuppressionKind } from '@mamori/contracts';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { Empty, Loading } from '../../components/states.tsx';
import { useLang } from '../../i18n/index.ts';
import { formatDateTime } from '../../lib/format.ts';
import { addSuppression, datasets, removeSuppression, suppression } from './api.ts';

export default function SuppressionPage() {
  const { t } = useTranslation();
  const lang = useLang();
  const qc = useQueryClient();
  const list = useQuery({ queryKey: ['extraction', 'suppression'], queryFn: suppression });
  const ds = useQuery({ queryKey: ['extraction', 'datasets'], queryFn: datasets });
  const [dataset, setDataset] = useState<string | null>(null);
  const [kind, setKind] = useState<SuppressionKind>('email');
  const [value, setValue] = useState('');
  const [note, setNote] = useState('');
  const refresh = () => qc.invalidateQueries({ queryKey: ['extraction', 'suppression'] });
  const add = useMutation({
    mutationFn: () => addSuppression({ dataset: dataset ?? ds.data?.[0]?.name ?? '', kind, value: value.trim(), note: note.trim() }),
    onSuccess: async () => { setValue(''); setNote(''); await refresh(); },
  });
  const remove = useMutation({ mutationFn: (id: string) => removeSuppression(id, ''), onSuccess: refresh });
  if (list.isPending || ds.isPending) return <Loading />;
  if (list.error) return <ErrorAlert error={list.error} onRetry={() => void list.refetch()} />;
  return (
    <Stack gap="sm">
      <Text size="sm">{t('extraction.suppression.intro')}</Text>
      <Paper withBorder p="sm">
        <form onSubmit={(e) => { e.preventDefault(); add.mutate(); }}>
          <SimpleGrid cols={{ base: 1, sm: 4 }}>
            <Select label={t('extraction.dataset')} data={(ds.data ?? []).map((d) => d.name)} value={dataset ?? ds.data?.[0]?.name ?? null} onChange={setDataset} allowDeselect={false} />
            <Select label={t('extraction.suppression.kind')} data={SUPPRESSION_KINDS.map((k) => ({ value: k, label: t(`extraction.suppression.kinds.${k}`) }))} value={kind} onChange={(v) => v && setKind(v as SuppressionKind)} allowDeselect={false} />
            <TextInput label={t('extraction.suppression.value')} value={value} onChange={(e) => setValue(e.currentTarget.value)} required autoComplete="off" />
            <TextInput label={t('extraction.suppression.note')} description={t('approvals.noPersonalData')} value={note} onChange={(e) => setNote(e.currentTarget.value)} maxLength={500} />
          </SimpleGrid>
          <Group justify="flex-end" mt="xs"><Button type="submit" size="xs" loading={add.isPending} disabled={!value.trim()}>{t('extraction.suppression.add')}</Button></Group>
          <ErrorAlert error={add.error ?? remove.error} compact showMessage />
        </form>
      </Paper>
      {list.data.length === 0 ? <Empty title={t('extraction.suppression.empty')} /> : (
        <Table striped withTableBorder fz="sm">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{t('extraction.createdAt')}</Table.Th><Table.Th>{t('extraction.dataset')}</Table.Th><Table.Th>{t('extraction.suppression.kind')}</Table.Th>
              <Table.Th>{t('extraction.suppression.hint')}</Table.Th><Table.Th>{t('extraction.suppression.note')}</Table.Th><Table.Th>{t('extraction.suppression.by')}</Table.Th><Table.Th />
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {list.data.map((e) => (
              <Table.Tr key={e.id} opacity={e.removedAt ? 0.5 : 1}>
                <Table.Td>{formatDateTime(e.addedAt, lang)}</Table.Td><Table.Td>{e.dataset}</Table.Td><Table.Td>{t(`extraction.suppression.kinds.${e.kind}`)}</Table.Td>
                <Table.Td>{e.hint}</Table.Td><Table.Td>{e.note}</Table.Td><Table.Td>{e.addedBy.displayName}</Table.Td>
                <Table.Td>{e.removedAt ? t('extraction.suppression.removed') : <Button size="compact-xs" variant="subtle" color="red" onClick={() => remove.mutate(e.id)}>{t('extraction.suppression.remove')}</Button>}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Stack>
  );
}
