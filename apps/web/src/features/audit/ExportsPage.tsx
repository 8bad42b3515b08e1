/**
 * SIEM export status: for each destination (syslog over TLS, HTTPS JSON Lines, JSON Lines file) its
 * cursor — the last log index the destination acknowledged — how far it lags behind the log, the
 * batch in flight, the last success and the last error. Refreshed every few seconds. Shows no event,
 * only positions in the log; the server decides who may see it (security center, auditors, CPO,
 * administrators).
 */
import { Alert, Badge, Code, Group, Paper, Progress, Stack, Table, Text, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { Empty, Loading } from '../../components/states.tsx';
import { useLang } from '../../i18n/index.ts';
import { formatDateTime } from '../../lib/format.ts';
import { getExportStatus, type ExportDestination } from './api.ts';

const REFRESH_MS = 5000;
/** An exporter that has not reported for this long is probably not running on any node. */
const STALE_MS = 2 * 60_000;

function health(d: ExportDestination, now: number): { color: string; key: 'upToDate' | 'behind' | 'failing' | 'stale' } {
  const errorIsNewer = d.lastErrorAt !== null && (d.lastSuccessAt === null || d.lastErrorAt > d.lastSuccessAt);
  if (d.heartbeatAt === null || now - Date.parse(d.heartbeatAt) > STALE_MS) return { color: 'gray', key: 'stale' };
  if (errorIsNewer) return { color: 'red', key: 'failing' };
  if (d.lag > 0) return { color: 'yellow', key: 'behind' };
  return { color: 'green', key: 'upToDate' };
}

export default function ExportsPage() {
  const { t } = useTranslation();
  const lang = useLang();
  const status = useQuery({ queryKey: ['audit', 'exports'], queryFn: ({ signal }) => getExportStatus(signal), refetchInterval: REFRESH_MS, staleTime: 0 });

  if (status.isPending) return <Loading />;
  if (status.isError) return <ErrorAlert error={status.error} onRetry={() => void status.refetch()} />;
  const { treeSize, destinations } = status.data;
  const now = status.dataUpdatedAt;
  const when = (v: string | null) => (v ? formatDateTime(v, lang, { seconds: true }) : t('audit.exports.never'));

  return (
    <Paper withBorder p="sm" data-testid="siem-exports">
      <Group justify="space-between" mb="xs">
        <Title order={2} size="h4">{t('audit.exports.title')}</Title>
        <Text size="sm">
          {t('audit.exports.treeSize')}: <Text span fw={700} data-testid="export-tree-size">{treeSize.toLocaleString()}</Text>
        </Text>
      </Group>
      {destinations.length === 0 ? (
        <Empty title={t('audit.exports.empty')}>{t('audit.exports.emptyHint')}</Empty>
      ) : (
        <Stack gap="xs">
          <Table withColumnBorders striped data-testid="export-destinations">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{t('audit.exports.destination')}</Table.Th>
                <Table.Th>{t('audit.exports.cursor')}</Table.Th>
                <Table.Th>{t('audit.exports.lag')}</Table.Th>
                <Table.Th>{t('audit.exports.lastSuccess')}</Table.Th>
                <Table.Th>{t('audit.exports.lastError')}</Table.Th>
                <Table.Th>{t('audit.exports.state')}</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {destinations.map((d) => {
                const h = health(d, now);
                const done = treeSize > 0 ? Math.min(100, (d.nextSeq / treeSize) * 100) : 100;
                return (
                  <Table.Tr key={d.id} data-kind={d.kind} data-state={h.key}>
                    <Table.Td>
                      <Badge variant="light" mb={4}>{t(`audit.exports.kind.${d.kind}`)}</Badge>
                      <Code fz="xs" display="block" style={{ wordBreak: 'break-all' }}>{d.target}</Code>
                    </Table.Td>
                    <Table.Td data-testid="export-cursor">
                      {d.nextSeq > 0 ? <Text span fw={700}>{(d.nextSeq - 1).toLocaleString()}</Text> : <Text span c="dimmed">{t('audit.exports.cursorNone')}</Text>}
                      {d.inflightTo !== null && (
                        <Text size="xs" c="dimmed">{t('audit.exports.inflight', { from: d.nextSeq.toLocaleString(), to: (d.inflightTo - 1).toLocaleString() })}</Text>
                      )}
                    </Table.Td>
                    <Table.Td miw={140}>
                      <Text size="sm" data-testid="export-lag">{t('audit.exports.lagEvents', { n: d.lag.toLocaleString() })}</Text>
                      <Progress value={done} size="sm" color={d.lag === 0 ? 'green' : 'yellow'} aria-label={t('audit.exports.lag')} />
                    </Table.Td>
                    <Table.Td className="nowrap">{when(d.lastSuccessAt)}</Table.Td>
                    <Table.Td>
                      {d.lastError ? (
                        <>
                          <Text size="xs" c="red" style={{ wordBreak: 'break-word' }} data-testid="export-last-error">{d.lastError}</Text>
                          <Text size="xs" c="dimmed">{when(d.lastErrorAt)}</Text>
                        </>
                      ) : (
                        <Text size="sm" c="dimmed">{t('common.none')}</Text>
                      )}
                    </Table.Td>
                    <Table.Td>
                      <Badge color={h.color} data-testid="export-state">{t(`audit.exports.health.${h.key}`)}</Badge>
                      <Text size="xs" c="dimmed">{t('audit.exports.heartbeat', { at: when(d.heartbeatAt) })}</Text>
                    </Table.Td>
                  </Table.Tr>
                );
              })}
            </Table.Tbody>
          </Table>
          {destinations.some((d) => health(d, now).key === 'failing') && <Alert color="red" variant="light">{t('audit.exports.failingHint')}</Alert>}
        </Stack>
      )}
      <Text size="xs" c="dimmed" mt="xs">{t('audit.exports.hint')}</Text>
    </Paper>
  );
}
