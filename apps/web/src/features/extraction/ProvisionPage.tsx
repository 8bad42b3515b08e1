/** Provision records (APPI Art. 29): every provision to a third party, or those concerning one record. */
import { useState } from 'react';
import { Button, Group, Stack, Table, Text, TextInput } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { Empty, Loading } from '../../components/states.tsx';
import { useLang } from '../../i18n/index.ts';
import { formatDate, formatDateTime } from '../../lib/format.ts';
import { provisionRecords } from './api.ts';

export default function ProvisionPage() {
  const { t } = useTranslation();
  const lang = useLang();
  const [input, setInput] = useState('');
  const [recordId, setRecordId] = useState<string | null>(null);
  // The record id stays in page state (never in the URL).
  const q = useQuery({ queryKey: ['extraction', 'provision', recordId], queryFn: () => provisionRecords(recordId) });
  return (
    <Stack gap="sm">
      <Text size="sm">{t('extraction.provision.intro')}</Text>
      <form onSubmit={(e) => { e.preventDefault(); setRecordId(input.trim() || null); }}>
        <Group align="flex-end">
          <TextInput label={t('extraction.provision.recordId')} value={input} onChange={(e) => setInput(e.currentTarget.value)} w={360} autoComplete="off" />
          <Button type="submit" size="xs">{t('extraction.provision.filter')}</Button>
        </Group>
      </form>
      {q.isPending ? <Loading /> : q.error ? <ErrorAlert error={q.error} onRetry={() => void q.refetch()} /> : q.data.length === 0 ? <Empty title={t('extraction.provision.empty')} /> : (
        <Table striped withTableBorder fz="sm">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{t('extraction.provision.providedAt')}</Table.Th><Table.Th>{t('extraction.recipientName')}</Table.Th><Table.Th>{t('extraction.recipientAddress')}</Table.Th>
              <Table.Th>{t('extraction.recipientRepresentative')}</Table.Th><Table.Th>{t('extraction.fields')}</Table.Th><Table.Th>{t('extraction.provision.count')}</Table.Th><Table.Th>{t('extraction.provision.retainUntil')}</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {q.data.map((p) => (
              <Table.Tr key={p.id}>
                <Table.Td>{formatDateTime(p.providedAt, lang)}</Table.Td><Table.Td>{p.recipientName}</Table.Td><Table.Td>{p.recipientAddress}</Table.Td><Table.Td>{p.recipientRepresentative}</Table.Td>
                <Table.Td>{p.dataItems.join(', ')}</Table.Td><Table.Td>{p.recordCount}</Table.Td><Table.Td>{formatDate(p.retainUntil, lang)}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Stack>
  );
}
