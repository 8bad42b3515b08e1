/**
 * "Waiting for my decision": each request with its scope exactly as filed (what, how many, for what
 * purpose, to whom — never the personal data itself), then approve, or reject with a reason.
 */
import { useState } from 'react';
import { Button, Group, Paper, Stack, Text, Textarea, Title } from '@mantine/core';
import type { ApprovalRequestView } from '@mamori/contracts';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { Empty, Loading } from '../../components/states.tsx';
import { approve, inbox, reject } from './api.ts';
import { Deadlines, Decisions, ScopeTable } from './parts.tsx';

export const INBOX_KEY = ['approvals', 'inbox'] as const;

function RequestCard({ request }: { request: ApprovalRequestView }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const [reason, setReason] = useState('');
  const decide = useMutation({
    mutationFn: (d: 'approve' | 'reject') => (d === 'approve' ? approve(request.id, reason.trim()) : reject(request.id, reason.trim())),
    onSuccess: () => qc.invalidateQueries({ queryKey: INBOX_KEY }),
  });
  return (
    <Paper withBorder p="sm" data-testid="inbox-request" data-request={request.id}>
      <Stack gap="xs">
        <Group justify="space-between">
          <Title order={2} size="h4">{t(`approvals.kind.${request.kind}`)}: {request.summary}</Title>
          <Text size="xs">{t('approvals.field.requester')} <Text span fw={700}>{request.requester.displayName} ({request.requester.login})</Text></Text>
        </Group>
        <ScopeTable request={request} />
        <Deadlines request={request} />
        <Decisions request={request} />
        <Textarea size="xs" label={t('approvals.decide.reason')} description={t('approvals.decide.reasonHint')} value={reason} onChange={(e) => setReason(e.currentTarget.value)} maxLength={1000} autosize minRows={2} />
        <ErrorAlert error={decide.error} compact showMessage />
        <Group justify="flex-end">
          <Button color="red" variant="light" loading={decide.isPending && decide.variables === 'reject'} disabled={!reason.trim()} onClick={() => decide.mutate('reject')}>{t('approvals.decide.reject')}</Button>
          <Button color="green" loading={decide.isPending && decide.variables === 'approve'} onClick={() => decide.mutate('approve')}>{t('approvals.decide.approve')}</Button>
        </Group>
      </Stack>
    </Paper>
  );
}

export default function InboxPage() {
  const { t } = useTranslation();
  const list = useQuery({ queryKey: INBOX_KEY, queryFn: inbox, staleTime: 5_000, refetchInterval: 30_000 });
  if (list.isPending) return <Loading />;
  if (list.isError) return <ErrorAlert error={list.error} onRetry={() => void list.refetch()} />;
  if (list.data.length === 0) return <Empty title={t('approvals.inbox.empty')}>{t('approvals.inbox.emptyHint')}</Empty>;
  return (
    <Stack gap="sm">
      <Text size="sm">{t('approvals.inbox.intro')}</Text>
      {list.data.map((r) => <RequestCard key={r.id} request={r} />)}
    </Stack>
  );
}
