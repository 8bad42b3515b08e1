/** Trace a leaked file: upload it (CSV in any encoding, or XLSX; whole or a fragment) and see which export it came from. */
import { useState } from 'react';
import { Badge, Button, FileInput, Group, Paper, Stack, Text } from '@mantine/core';
import { useMutation } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { Empty } from '../../components/states.tsx';
import { useLang } from '../../i18n/index.ts';
import { formatDateTime } from '../../lib/format.ts';
import { trace } from './api.ts';

export default function TracePage() {
  const { t } = useTranslation();
  const lang = useLang();
  const [file, setFile] = useState<File | null>(null);
  const run = useMutation({ mutationFn: (f: File) => trace(f) });
  return (
    <Stack gap="sm" maw={820}>
      <Text size="sm">{t('extraction.trace.intro')}</Text>
      <Group align="flex-end">
        <FileInput label={t('extraction.trace.file')} value={file} onChange={setFile} accept=".csv,.txt,.xlsx" w={360} clearable />
        <Button size="xs" disabled={!file} loading={run.isPending} onClick={() => file && run.mutate(file)}>{t('extraction.trace.run')}</Button>
      </Group>
      <ErrorAlert error={run.error} compact showMessage />
      {run.data && (run.data.matches.length === 0 ? <Empty title={t('extraction.trace.none')}>{t('extraction.trace.rows', { rows: run.data.rowsRead })}</Empty> : (
        <Stack gap="xs">
          <Text size="xs" c="dimmed">{t('extraction.trace.rows', { rows: run.data.rowsRead })}</Text>
          {run.data.matches.map((m) => (
            <Paper key={m.extractionId} withBorder p="sm">
              <Group justify="space-between"><Text fw={700} size="sm">{m.dataset} · {m.extractionId}</Text><Badge>{t(`extraction.trace.confidence.${m.confidence}`)}</Badge></Group>
              <Text size="sm">{t('extraction.trace.requester')}: {m.requester.displayName} ({m.requester.login})</Text>
              <Text size="sm">{t('extraction.trace.approver')}: {m.approvers.map((a) => `${a.displayName} (${a.login})`).join(', ') || '—'}</Text>
              <Text size="sm">{t('extraction.trace.date')}: {formatDateTime(m.completedAt, lang)}</Text>
              <Text size="sm">{t('extraction.recipient')}: {m.recipient.kind === 'third_party' ? m.recipient.name : t('extraction.internal')}</Text>
              <Text size="xs" c="dimmed">{t('extraction.trace.evidence', { canaries: m.canaries, matched: m.fingerprint.matched, checked: m.fingerprint.checked })}</Text>
            </Paper>
          ))}
        </Stack>
      ))}
    </Stack>
  );
}
