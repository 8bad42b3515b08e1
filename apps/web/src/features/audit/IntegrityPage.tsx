/**
 * The log's integrity: the latest signed checkpoint and the log key, what each witness holds, the
 * last verification (kept by the server across restarts) and "verify now" — a background job, one at
 * a time, whose progress is polled. Shows no audit event, so administrators may use it too.
 */
import { useState, type ReactNode } from 'react';
import { Alert, Badge, Button, Code, Group, Paper, Progress, SimpleGrid, Stack, Table, Text, Title } from '@mantine/core';
import { IconShieldCheck } from '@tabler/icons-react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { Loading } from '../../components/states.tsx';
import { useLang } from '../../i18n/index.ts';
import { formatDateTime } from '../../lib/format.ts';
import { getIntegrity, getVerification, startVerification, type VerificationRun, type WitnessState } from './api.ts';

const INTEGRITY_KEY = ['audit', 'integrity'] as const;

const WITNESS_COLOR: Record<WitnessState, string> = {
  agrees: 'green', disagrees: 'red', ahead_of_log: 'red', bad_signature: 'red', empty: 'gray', unreadable: 'orange', write_only: 'gray',
};
const RUN_COLOR: Record<VerificationRun['status'], string> = { running: 'blue', ok: 'green', failed: 'red', error: 'orange' };

function Row({ label, children }: { label: string; children: ReactNode }) {
  return (
    <Table.Tr>
      <Table.Th w={170} scope="row" className="nowrap">{label}</Table.Th>
      <Table.Td style={{ wordBreak: 'break-all' }}>{children}</Table.Td>
    </Table.Tr>
  );
}

function RunSummary({ run }: { run: VerificationRun }) {
  const { t } = useTranslation();
  const lang = useLang();
  return (
    <Table withColumnBorders data-testid="last-verification" data-status={run.status}>
      <Table.Tbody>
        <Row label={t('audit.integrity.run.result')}>
          <Badge color={RUN_COLOR[run.status]} data-testid="verification-result">{t(`audit.integrity.runStatus.${run.status}`)}</Badge>
        </Row>
        <Row label={t('audit.integrity.run.when')}>{formatDateTime(run.finishedAt ?? run.startedAt, lang, { seconds: true })}</Row>
        <Row label={t('audit.integrity.run.by')}>
          {run.startedBy ? (run.startedBy.login ?? run.startedBy.id) : t('audit.actorKind.system')} ({t(`audit.integrity.source.${run.source}`)})
        </Row>
        {run.treeSize !== null && <Row label={t('audit.integrity.run.events')}>{run.treeSize.toLocaleString()}</Row>}
        {run.checkpoints !== null && (
          <Row label={t('audit.integrity.run.checkpoints')}>{t('audit.integrity.run.checkpointCount', { n: run.checkpoints, w: run.witnessCheckpoints ?? 0 })}</Row>
        )}
        {run.problem && (
          <Row label={t('audit.integrity.run.problem')}>
            <Text size="sm" c="red" fw={700} data-testid="verification-problem">
              {t(`audit.integrity.problem.${run.problem.kind}`)} — {t('audit.integrity.run.atIndex', { n: run.problem.index })}
            </Text>
            <Text size="xs" c="dimmed">{run.problem.detail}</Text>
          </Row>
        )}
        {run.error && <Row label={t('audit.integrity.run.problem')}><Code fz="xs">{run.error}</Code></Row>}
      </Table.Tbody>
    </Table>
  );
}

export default function IntegrityPage() {
  const { t } = useTranslation();
  const lang = useLang();
  const qc = useQueryClient();
  const status = useQuery({ queryKey: INTEGRITY_KEY, queryFn: ({ signal }) => getIntegrity(signal), staleTime: 0, gcTime: 30_000 });
  const [runId, setRunId] = useState<string | null>(null);
  const watched = runId ?? status.data?.currentRun?.id ?? null;
  const run = useQuery({
    queryKey: ['audit', 'verification', watched],
    queryFn: async ({ signal }) => {
      const r = await getVerification(watched!, signal);
      // Finished: the status (last verification) now shows this run.
      if (r.run.status !== 'running') void qc.invalidateQueries({ queryKey: INTEGRITY_KEY });
      return r;
    },
    enabled: watched !== null,
    refetchInterval: (q) => (q.state.data?.run.status === 'running' || q.state.data === undefined ? 500 : false),
    staleTime: 0,
    gcTime: 0,
  });
  const current = run.data?.run ?? null;
  const start = useMutation({
    mutationFn: startVerification,
    onSuccess: (r) => setRunId(r.run.id),
    onError: () => void qc.invalidateQueries({ queryKey: INTEGRITY_KEY }),
  });

  if (status.isPending) return <Loading />;
  if (status.isError) return <ErrorAlert error={status.error} onRetry={() => void status.refetch()} />;
  const s = status.data;
  const running = current?.status === 'running' ? current : null;
  const pct = running && running.total > 0 ? Math.min(100, (running.done / running.total) * 100) : 0;

  return (
    <SimpleGrid cols={{ base: 1, lg: 2 }} spacing="sm" data-testid="integrity">
      <Paper withBorder p="sm">
        <Title order={2} size="h4" mb="xs">{t('audit.integrity.checkpoint.title')}</Title>
        {s.checkpoint ? (
          <Stack gap="xs">
            <Table withColumnBorders data-testid="latest-checkpoint">
              <Table.Tbody>
                <Row label={t('audit.integrity.checkpoint.size')}><Text span fw={700} data-testid="checkpoint-size">{s.checkpoint.treeSize.toLocaleString()}</Text></Row>
                <Row label={t('audit.integrity.checkpoint.root')}><Code fz="xs">{s.checkpoint.rootHash}</Code></Row>
                <Row label={t('audit.integrity.checkpoint.at')}>{formatDateTime(s.checkpoint.createdAt, lang, { seconds: true })}</Row>
                <Row label={t('audit.integrity.checkpoint.origin')}><Code fz="xs">{s.log.origin}</Code></Row>
                <Row label={t('audit.integrity.checkpoint.key')}><Code fz="xs" data-testid="verifier-key">{s.log.verifierKey}</Code></Row>
              </Table.Tbody>
            </Table>
            <Text size="xs" c="dimmed">{t('audit.integrity.checkpoint.note')}</Text>
            <Code block fz="xs" data-testid="checkpoint-note" style={{ whiteSpace: 'pre-wrap', wordBreak: 'break-all' }}>{s.checkpoint.note}</Code>
          </Stack>
        ) : (
          <Text size="sm" c="dimmed">{t('audit.integrity.checkpoint.none')}</Text>
        )}
      </Paper>
      <Stack gap="sm">
        <Paper withBorder p="sm">
          <Title order={2} size="h4" mb="xs">{t('audit.integrity.witnesses.title')}</Title>
          {s.witnesses.length === 0 ? (
            <Alert color="orange" variant="light">{t('audit.integrity.witnesses.none')}</Alert>
          ) : (
            <Table withColumnBorders data-testid="witnesses">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>{t('audit.integrity.witnesses.name')}</Table.Th>
                  <Table.Th>{t('audit.integrity.witnesses.size')}</Table.Th>
                  <Table.Th>{t('audit.integrity.witnesses.state')}</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {s.witnesses.map((w) => (
                  <Table.Tr key={w.name} data-state={w.state}>
                    <Table.Td style={{ wordBreak: 'break-all' }}><Code fz="xs">{w.name}</Code></Table.Td>
                    <Table.Td>{w.latestSize?.toLocaleString() ?? '—'}</Table.Td>
                    <Table.Td><Badge color={WITNESS_COLOR[w.state]}>{t(`audit.integrity.witnessState.${w.state}`)}</Badge></Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          )}
        </Paper>
        <Paper withBorder p="sm">
          <Group justify="space-between" mb="xs">
            <Title order={2} size="h4">{t('audit.integrity.run.title')}</Title>
            <Button leftSection={<IconShieldCheck size={16} />} loading={start.isPending} disabled={running !== null} onClick={() => start.mutate()}>
              {t('audit.integrity.verifyNow')}
            </Button>
          </Group>
          {start.isError && <ErrorAlert error={start.error} compact />}
          {running && (
            <Stack gap={4} mb="xs" data-testid="verification-progress">
              <Text size="sm">{t('audit.integrity.running', { done: running.done.toLocaleString(), total: running.total.toLocaleString() })}</Text>
              <Progress value={pct} animated aria-label={t('audit.integrity.progressLabel')} />
            </Stack>
          )}
          {s.lastRun ? <RunSummary run={s.lastRun} /> : <Text size="sm" c="dimmed">{t('audit.integrity.run.never')}</Text>}
          <Text size="xs" c="dimmed" mt="xs">{t('audit.integrity.cliHint')}</Text>
        </Paper>
      </Stack>
    </SimpleGrid>
  );
}
