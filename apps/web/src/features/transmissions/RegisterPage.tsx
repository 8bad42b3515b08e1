/**
 * The transmission register: what went where, when, approved by whom; filter by state and period; CSV
 * for audits. Refreshed every 3 s while a listed transmission awaits approval or delivery.
 */
import { useState } from 'react';
import { Anchor, Group, Select, Stack, Table, Text } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { TRANSMISSION_STATES, type TransmissionState } from '@mamori/contracts';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { Empty, Loading } from '../../components/states.tsx';
import { useLang } from '../../i18n/index.ts';
import { formatDateTime } from '../../lib/format.ts';
import { refetchWhileInFlight, register, registerCsvUrl, type RegisterFilter } from './api.ts';
import { Details, TransmissionStateBadge } from './parts.tsx';

export default function RegisterPage() {
  const { t } = useTranslation();
  const lang = useLang();
  const [filter, setFilter] = useState<RegisterFilter>({});
  const q = useQuery({ queryKey: ['transmissions', 'register', filter], queryFn: () => register(filter), refetchInterval: refetchWhileInFlight });
  return (
    <Stack gap="sm">
      <Text size="sm">{t('transmissions.register.intro')}</Text>
      <Group align="flex-end">
        <Select
          label={t('transmissions.field.state')} clearable w={200} value={filter.state ?? null}
          data={TRANSMISSION_STATES.map((s) => ({ value: s, label: t(`transmissions.state.${s}`) }))}
          onChange={(v) => setFilter({ ...filter, state: (v as TransmissionState | null) ?? null })}
        />
        <Anchor href={registerCsvUrl(filter)} download size="sm">{t('transmissions.register.csv')}</Anchor>
      </Group>
      {q.isPending ? <Loading /> : q.error ? <ErrorAlert error={q.error} onRetry={() => void q.refetch()} /> : q.data.length === 0 ? <Empty title={t('transmissions.register.empty')} /> : (
        <Table striped withTableBorder fz="sm" data-testid="transmission-register">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{t('transmissions.field.createdAt')}</Table.Th>
              <Table.Th>{t('transmissions.field.sender')}</Table.Th>
              <Table.Th>{t('transmissions.field.to')}</Table.Th>
              <Table.Th>{t('transmissions.field.subject')}</Table.Th>
              <Table.Th>{t('transmissions.field.state')}</Table.Th>
              <Table.Th>{t('transmissions.field.deliveredAt')}</Table.Th>
              <Table.Th>{t('transmissions.field.details')}</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {q.data.map((tr) => (
              <Table.Tr key={tr.id} data-testid="register-row" data-transmission={tr.id}>
                <Table.Td>{formatDateTime(tr.createdAt, lang, { seconds: false })}</Table.Td>
                <Table.Td>{tr.sender.displayName} ({tr.sender.login})</Table.Td>
                <Table.Td>{tr.recipients.join(t('common.listSeparator'))}</Table.Td>
                <Table.Td>{tr.subject}</Table.Td>
                <Table.Td><TransmissionStateBadge state={tr.state} /></Table.Td>
                <Table.Td>{tr.deliveredAt ? formatDateTime(tr.deliveredAt, lang, { seconds: false }) : '—'}</Table.Td>
                <Table.Td miw={260}><Details tr={tr} /></Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Stack>
  );
}
