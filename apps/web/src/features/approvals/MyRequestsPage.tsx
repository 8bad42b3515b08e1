/** "My requests": what I filed, where each stands, and what I can do with it (cancel, use once, break-glass). */
import { Fragment, useState } from 'react';
import { Alert, Button, Group, Modal, Paper, Stack, Table, Text, TextInput, Textarea } from '@mantine/core';
import { IconPlus } from '@tabler/icons-react';
import type { ApprovalRequestView } from '@mamori/contracts';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { Empty, Loading } from '../../components/states.tsx';
import { useLang } from '../../i18n/index.ts';
import { formatDateTime } from '../../lib/format.ts';
import { breakGlass, cancelRequest, fileGeneral, myRequests, markUsed } from './api.ts';
import { Deadlines, Decisions, ScopeTable, StateBadge } from './parts.tsx';

export const MY_REQUESTS_KEY = ['approvals', 'mine'] as const;

function NewRequestModal({ onClose }: { onClose: () => void }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const [summary, setSummary] = useState('');
  const [purpose, setPurpose] = useState('');
  const [details, setDetails] = useState('');
  const file = useMutation({
    mutationFn: () => fileGeneral({ kind: 'general', summary: summary.trim(), purpose: purpose.trim(), ...(details.trim() ? { details: details.trim() } : {}) }),
    onSuccess: async () => {
      await qc.invalidateQueries({ queryKey: MY_REQUESTS_KEY });
      onClose();
    },
  });
  return (
    <Modal opened onClose={onClose} title={<Text fw={700}>{t('approvals.new.title')}</Text>} closeButtonProps={{ 'aria-label': t('common.close') }} size="lg">
      <form onSubmit={(e) => { e.preventDefault(); file.mutate(); }}>
        <Stack gap="sm">
          <Text size="sm">{t('approvals.new.intro')}</Text>
          <TextInput label={t('approvals.new.summary')} value={summary} onChange={(e) => setSummary(e.currentTarget.value)} required maxLength={300} data-autofocus />
          <Textarea size="xs" label={t('approvals.new.purpose')} value={purpose} onChange={(e) => setPurpose(e.currentTarget.value)} required maxLength={500} autosize minRows={2} />
          <Textarea size="xs" label={t('approvals.new.details')} description={t('approvals.noPersonalData')} value={details} onChange={(e) => setDetails(e.currentTarget.value)} maxLength={2000} autosize minRows={2} />
          <ErrorAlert error={file.error} compact showMessage />
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>{t('common.cancel')}</Button>
            <Button type="submit" loading={file.isPending} disabled={!summary.trim() || !purpose.trim()}>{t('approvals.new.submit')}</Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

function BreakGlassModal({ request, onClose }: { request: ApprovalRequestView; onClose: () => void }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const [reason, setReason] = useState('');
  const go = useMutation({
    mutationFn: () => breakGlass(request.id, reason.trim()),
    onSuccess: async () => {
      await qc.invalidateQueries({ queryKey: MY_REQUESTS_KEY });
      onClose();
    },
  });
  return (
    <Modal opened onClose={onClose} title={<Text fw={700}>{t('approvals.breakGlass.title')}</Text>} closeButtonProps={{ 'aria-label': t('common.close') }}>
      <form onSubmit={(e) => { e.preventDefault(); go.mutate(); }}>
        <Stack gap="sm">
          <Alert color="red" variant="light">{t('approvals.breakGlass.warning')}</Alert>
          <Textarea size="xs" label={t('approvals.breakGlass.reason')} description={t('approvals.noPersonalData')} value={reason} onChange={(e) => setReason(e.currentTarget.value)} required minLength={10} maxLength={1000} autosize minRows={3} data-autofocus />
          <ErrorAlert error={go.error} compact showMessage />
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>{t('common.cancel')}</Button>
            <Button type="submit" color="red" loading={go.isPending} disabled={reason.trim().length < 10}>{t('approvals.breakGlass.submit')}</Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

export default function MyRequestsPage() {
  const { t } = useTranslation();
  const lang = useLang();
  const qc = useQueryClient();
  const list = useQuery({ queryKey: MY_REQUESTS_KEY, queryFn: myRequests, staleTime: 5_000 });
  const [creating, setCreating] = useState(false);
  const [open, setOpen] = useState<string | null>(null);
  const [glass, setGlass] = useState<ApprovalRequestView | null>(null);
  const act = useMutation({
    mutationFn: ({ id, what }: { id: string; what: 'cancel' | 'use' }) => (what === 'cancel' ? cancelRequest(id) : markUsed(id)),
    onSettled: () => qc.invalidateQueries({ queryKey: MY_REQUESTS_KEY }),
  });
  return (
    <Stack gap="xs">
      <Paper withBorder p="xs">
        <Group justify="space-between">
          <Text size="sm">{t('approvals.mine.intro')}</Text>
          <Button leftSection={<IconPlus size={14} />} onClick={() => setCreating(true)}>{t('approvals.new.open')}</Button>
        </Group>
      </Paper>
      <ErrorAlert error={act.error} compact showMessage />
      <Paper withBorder p="xs">
        {list.isPending ? <Loading /> : list.isError ? <ErrorAlert error={list.error} onRetry={() => void list.refetch()} /> : list.data.length === 0 ? (
          <Empty title={t('approvals.mine.empty')}>{t('approvals.mine.emptyHint')}</Empty>
        ) : (
          <Table aria-label={t('approvals.mine.tableLabel')} data-testid="my-requests">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{t('approvals.field.createdAt')}</Table.Th>
                <Table.Th>{t('approvals.field.kind')}</Table.Th>
                <Table.Th>{t('approvals.field.summary')}</Table.Th>
                <Table.Th>{t('approvals.field.state')}</Table.Th>
                <Table.Th>{t('approvals.field.progress')}</Table.Th>
                <Table.Th>{t('users.field.actions')}</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {list.data.map((r) => (
                <Fragment key={r.id}>
                  <Table.Tr data-request={r.id}>
                    <Table.Td className="nowrap">{formatDateTime(r.createdAt, lang, { seconds: false })}</Table.Td>
                    <Table.Td className="nowrap">{t(`approvals.kind.${r.kind}`)}</Table.Td>
                    <Table.Td>{r.summary}</Table.Td>
                    <Table.Td><StateBadge state={r.state} /></Table.Td>
                    <Table.Td className="nowrap">{r.approvals} / {r.requiredApprovals}</Table.Td>
                    <Table.Td className="nowrap">
                      <Group gap={4} wrap="nowrap">
                        <Button size="compact-xs" variant="subtle" onClick={() => setOpen(open === r.id ? null : r.id)} aria-expanded={open === r.id}>{t('approvals.details')}</Button>
                        {r.state === 'approved' && r.kind === 'general' && <Button size="compact-xs" color="indigo" onClick={() => act.mutate({ id: r.id, what: 'use' })}>{t('approvals.use')}</Button>}
                        {(r.state === 'pending' || r.state === 'approved') && <Button size="compact-xs" variant="light" color="gray" onClick={() => act.mutate({ id: r.id, what: 'cancel' })}>{t('approvals.cancel')}</Button>}
                        {r.state === 'pending' && <Button size="compact-xs" variant="subtle" color="red" onClick={() => setGlass(r)}>{t('approvals.breakGlass.open')}</Button>}
                      </Group>
                    </Table.Td>
                  </Table.Tr>
                  {open === r.id && (
                    <Table.Tr>
                      <Table.Td colSpan={6}>
                        <Stack gap="xs">
                          <ScopeTable request={r} />
                          <Deadlines request={r} />
                          <Decisions request={r} />
                        </Stack>
                      </Table.Td>
                    </Table.Tr>
                  )}
                </Fragment>
              ))}
            </Table.Tbody>
          </Table>
        )}
      </Paper>
      {creating && <NewRequestModal onClose={() => setCreating(false)} />}
      {glass && <BreakGlassModal request={glass} onClose={() => setGlass(null)} />}
    </Stack>
  );
}
