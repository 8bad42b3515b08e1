/** My transmissions: where each message stands (held, waiting for approval, delivered, blocked…), with confirm and cancel. */
import { Button, Group, Paper, Stack, Text, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import type { TransmissionView } from '@mamori/contracts';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { Empty, Loading } from '../../components/states.tsx';
import { useLang } from '../../i18n/index.ts';
import { formatDateTime } from '../../lib/format.ts';
import { navigate } from '../../app/router.ts';
import { cancelTransmission, confirmTransmission, myTransmissions, refetchWhileInFlight } from './api.ts';
import { Details, TransmissionStateBadge } from './parts.tsx';

const KEY = ['transmissions', 'mine'] as const;

function Card({ tr }: { tr: TransmissionView }) {
  const { t } = useTranslation();
  const lang = useLang();
  const qc = useQueryClient();
  const act = useMutation({
    mutationFn: (a: 'confirm' | 'cancel') => (a === 'confirm' ? confirmTransmission(tr.id) : cancelTransmission(tr.id)),
    onSuccess: () => qc.invalidateQueries({ queryKey: KEY }),
  });
  return (
    <Paper withBorder p="sm" data-testid="my-transmission" data-transmission={tr.id}>
      <Stack gap={6}>
        <Group justify="space-between" wrap="nowrap">
          <Title order={2} size="h5">{tr.subject}</Title>
          <TransmissionStateBadge state={tr.state} />
        </Group>
        <Text size="xs">{t('transmissions.field.to')}: {tr.recipients.join(t('common.listSeparator'))}</Text>
        <Text size="xs" c="dimmed">{formatDateTime(tr.createdAt, lang, { seconds: false })} · {t(`transmissions.channel.${tr.channel}`)}</Text>
        <Details tr={tr} />
        {tr.state === 'unconfirmed' && <Text size="xs" c="orange">{t('transmissions.mine.unconfirmedHint')}</Text>}
        <ErrorAlert error={act.error} compact showMessage />
        {(tr.state === 'unconfirmed' || tr.state === 'pending_approval') && (
          <Group justify="flex-end">
            <Button size="xs" variant="light" color="gray" loading={act.isPending && act.variables === 'cancel'} onClick={() => act.mutate('cancel')}>{t('transmissions.mine.cancel')}</Button>
            {tr.state === 'unconfirmed' && <Button size="xs" loading={act.isPending && act.variables === 'confirm'} onClick={() => act.mutate('confirm')}>{t('transmissions.mine.confirm')}</Button>}
          </Group>
        )}
      </Stack>
    </Paper>
  );
}

export default function MyTransmissionsPage() {
  const { t } = useTranslation();
  const q = useQuery({
    queryKey: KEY,
    queryFn: myTransmissions,
    refetchInterval: refetchWhileInFlight,
  });
  if (q.isPending) return <Loading />;
  if (q.error) return <ErrorAlert error={q.error} onRetry={() => void q.refetch()} />;
  return (
    <Stack gap="sm">
      <Group justify="space-between">
        <Text size="sm">{t('transmissions.mine.intro')}</Text>
        <Button size="xs" onClick={() => navigate('/transmissions/new')}>{t('nav.transmissionNew')}</Button>
      </Group>
      {q.data.length === 0 ? <Empty title={t('transmissions.mine.empty')} /> : q.data.map((tr) => <Card key={tr.id} tr={tr} />)}
    </Stack>
  );
}
