/** My extractions: where each stands (approval, progress), and the one-time download when ready. */
import { Anchor, Badge, Button, Group, Progress, Stack, Table, Text } from '@mantine/core';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import type { ExtractionView } from '@mamori/contracts';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { Empty, Loading } from '../../components/states.tsx';
import { useLang } from '../../i18n/index.ts';
import { formatDateTime } from '../../lib/format.ts';
import { navigate } from '../../app/router.ts';
import { downloadUrl, myExtractions } from './api.ts';

const COLORS: Record<ExtractionView['state'], string> = {
  pending_approval: 'yellow', running: 'blue', ready: 'green', downloaded: 'gray', failed: 'red', rejected: 'red', expired: 'gray', cancelled: 'gray',
};

export default function MyExtractionsPage() {
  const { t } = useTranslation();
  const lang = useLang();
  const qc = useQueryClient();
  const q = useQuery({
    queryKey: ['extraction', 'mine'],
    queryFn: myExtractions,
    // The console polls while anything is waiting or running.
    refetchInterval: (query) => ((query.state.data ?? []).some((e) => e.state === 'pending_approval' || e.state === 'running') ? 2000 : false),
  });
  if (q.isPending) return <Loading />;
  if (q.error) return <ErrorAlert error={q.error} onRetry={() => void q.refetch()} />;
  return (
    <Stack gap="sm">
      <Group justify="space-between">
        <Text size="sm">{t('extraction.mine.intro')}</Text>
        <Button size="xs" onClick={() => navigate('/extractions/new')}>{t('nav.extractionNew')}</Button>
      </Group>
      {q.data.length === 0 ? <Empty title={t('extraction.mine.empty')} /> : (
        <Table striped withTableBorder fz="sm">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{t('extraction.createdAt')}</Table.Th>
              <Table.Th>{t('extraction.dataset')}</Table.Th>
              <Table.Th>{t('extraction.recipient')}</Table.Th>
              <Table.Th>{t('extraction.state')}</Table.Th>
              <Table.Th>{t('extraction.progress')}</Table.Th>
              <Table.Th>{t('extraction.download')}</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {q.data.map((e) => (
              <Table.Tr key={e.id} data-testid={`extraction-${e.id}`}>
                <Table.Td>{formatDateTime(e.createdAt, lang)}</Table.Td>
                <Table.Td>{e.dataset} · {t(`extraction.formats.${e.format}`)}</Table.Td>
                <Table.Td>{e.recipient.kind === 'third_party' ? e.recipient.name : t('extraction.internal')}</Table.Td>
                <Table.Td>
                  <Badge color={COLORS[e.state]} variant="light" data-testid="extraction-state">{t(`extraction.states.${e.state}`)}</Badge>
                  {e.state === 'running' && e.attempt > 1 ? <Text size="xs" c="dimmed">{t('extraction.resumed', { attempt: e.attempt })}</Text> : null}
                  {e.state === 'failed' && e.error ? <Text size="xs" c="red">{t(e.error === 'extraction.interrupted' ? 'extraction.failedInterrupted' : e.error === 'extraction.record_unreadable' ? 'extraction.failedUnreadable' : 'extraction.failedOther')}</Text> : null}
                </Table.Td>
                <Table.Td miw={140}>
                  <Progress value={e.rowsTotal ? (100 * e.rowsDone) / e.rowsTotal : 0} size="sm" />
                  <Text size="xs" c="dimmed">{e.rowsDone} / {e.rowsTotal}</Text>
                </Table.Td>
                <Table.Td>
                  {e.state === 'ready' ? (
                    <Stack gap={0}>
                      <Anchor href={downloadUrl(e.id)} onClick={() => setTimeout(() => void qc.invalidateQueries({ queryKey: ['extraction', 'mine'] }), 1500)}>{t('extraction.downloadOnce')}</Anchor>
                      <Text size="xs" c="dimmed">{t('extraction.until', { at: formatDateTime(e.downloadUntil, lang) })}</Text>
                    </Stack>
                  ) : e.downloadedAt ? <Text size="xs">{formatDateTime(e.downloadedAt, lang)}</Text> : '—'}
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Stack>
  );
}
