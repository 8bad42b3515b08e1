/**
 * History for periodic review (CPO, auditor, security center): every request, also after it expired,
 * filtered by kind, state and date (days in Japan time), downloadable as CSV for Excel; and the
 * break-glass reviews, each open until a security center member or the CPO closes it with a note.
 */
import { Fragment, useState } from 'react';
import { Anchor, Badge, Button, Group, Modal, Paper, Select, Stack, Table, Text, TextInput, Textarea, Title } from '@mantine/core';
import { IconDownload } from '@tabler/icons-react';
import { APPROVAL_KINDS, APPROVAL_STATES, type ApprovalKind, type ApprovalState, type BreakGlassReviewView } from '@mamori/contracts';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { Empty, Loading } from '../../components/states.tsx';
import { canCloseReviews } from '../../app/roles.ts';
import { useMe } from '../../app/session.tsx';
import { useLang } from '../../i18n/index.ts';
import { formatDateTime, jstDayToIso } from '../../lib/format.ts';
import { closeReview, history, historyCsvUrl, reviews, type HistoryFilter } from './api.ts';
import { Decisions, ScopeTable, StateBadge } from './parts.tsx';

function CloseReviewModal({ review, onClose }: { review: BreakGlassReviewView; onClose: () => void }) {
  const { t } = useTranslation();
  const qc = useQueryClient();
  const [note, setNote] = useState('');
  const close = useMutation({
    mutationFn: () => closeReview(review.id, note.trim()),
    onSuccess: async () => {
      await qc.invalidateQueries({ queryKey: ['approvals', 'reviews'] });
      onClose();
    },
  });
  return (
    <Modal opened onClose={onClose} title={<Text fw={700}>{t('approvals.review.closeTitle')}</Text>} closeButtonProps={{ 'aria-label': t('common.close') }}>
      <form onSubmit={(e) => { e.preventDefault(); close.mutate(); }}>
        <Stack gap="sm">
          <Text size="sm">{review.summary}</Text>
          <Text size="xs">{t('approvals.breakGlass.reason')}: {review.reason}</Text>
          <Textarea size="xs" label={t('approvals.review.note')} value={note} onChange={(e) => setNote(e.currentTarget.value)} required maxLength={2000} autosize minRows={3} data-autofocus />
          <ErrorAlert error={close.error} compact showMessage />
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>{t('common.cancel')}</Button>
            <Button type="submit" loading={close.isPending} disabled={!note.trim()}>{t('approvals.review.close')}</Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}

export default function HistoryPage() {
  const { t } = useTranslation();
  const lang = useLang();
  const me = useMe();
  const [kind, setKind] = useState<string | null>(null);
  const [state, setState] = useState<string | null>(null);
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [open, setOpen] = useState<string | null>(null);
  const [closing, setClosing] = useState<BreakGlassReviewView | null>(null);
  const filter: HistoryFilter = { kind: kind as ApprovalKind | null, state: state as ApprovalState | null, from: from ? jstDayToIso(from) : null, to: to ? jstDayToIso(to, { endOfDay: true }) : null };
  const list = useQuery({ queryKey: ['approvals', 'history', filter], queryFn: () => history(filter), staleTime: 10_000 });
  const openReviews = useQuery({ queryKey: ['approvals', 'reviews'], queryFn: () => reviews(true), staleTime: 10_000 });
  return (
    <Stack gap="xs">
      <Paper withBorder p="xs">
        <Title order={2} size="h4" mb={4}>{t('approvals.review.title')}</Title>
        {openReviews.isPending ? <Loading /> : openReviews.isError ? <ErrorAlert error={openReviews.error} compact /> : openReviews.data.length === 0 ? (
          <Text size="xs" c="dimmed">{t('approvals.review.none')}</Text>
        ) : (
          <Table data-testid="open-reviews" aria-label={t('approvals.review.title')}>
            <Table.Tbody>
              {openReviews.data.map((r) => (
                <Table.Tr key={r.id}>
                  <Table.Td className="nowrap">{formatDateTime(r.openedAt, lang, { seconds: false })}</Table.Td>
                  <Table.Td className="nowrap">{r.requester.displayName} ({r.requester.login})</Table.Td>
                  <Table.Td>{t(`approvals.kind.${r.kind}`)}: {r.summary}</Table.Td>
                  <Table.Td>{r.reason}</Table.Td>
                  <Table.Td>{canCloseReviews(me.user) && r.requester.id !== me.user.id && <Button size="compact-xs" onClick={() => setClosing(r)}>{t('approvals.review.close')}</Button>}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        )}
      </Paper>
      <Paper withBorder p="xs">
        <Group align="flex-end" gap="sm">
          <Select size="xs" w={180} label={t('approvals.field.kind')} value={kind} onChange={setKind} clearable data={APPROVAL_KINDS.map((k) => ({ value: k, label: t(`approvals.kind.${k}`) }))} />
          <Select size="xs" w={160} label={t('approvals.field.state')} value={state} onChange={setState} clearable data={APPROVAL_STATES.map((s) => ({ value: s, label: t(`approvals.state.${s}`) }))} />
          <TextInput size="xs" type="date" label={t('approvals.history.from')} value={from} onChange={(e) => setFrom(e.currentTarget.value)} />
          <TextInput size="xs" type="date" label={t('approvals.history.to')} value={to} onChange={(e) => setTo(e.currentTarget.value)} />
          <Anchor href={historyCsvUrl(filter)} download underline="never">
            <Button size="xs" component="span" variant="light" leftSection={<IconDownload size={14} />}>{t('approvals.history.csv')}</Button>
          </Anchor>
        </Group>
      </Paper>
      <Paper withBorder p="xs">
        {list.isPending ? <Loading /> : list.isError ? <ErrorAlert error={list.error} onRetry={() => void list.refetch()} /> : list.data.length === 0 ? <Empty title={t('approvals.history.empty')} /> : (
          <Table aria-label={t('approvals.history.tableLabel')} data-testid="approval-history">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{t('approvals.field.createdAt')}</Table.Th>
                <Table.Th>{t('approvals.field.kind')}</Table.Th>
                <Table.Th>{t('approvals.field.requester')}</Table.Th>
                <Table.Th>{t('approvals.field.summary')}</Table.Th>
                <Table.Th>{t('approvals.field.state')}</Table.Th>
                <Table.Th>{t('approvals.field.progress')}</Table.Th>
                <Table.Th />
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {list.data.map((r) => (
                <Fragment key={r.id}>
                  <Table.Tr>
                    <Table.Td className="nowrap">{formatDateTime(r.createdAt, lang, { seconds: false })}</Table.Td>
                    <Table.Td className="nowrap">{t(`approvals.kind.${r.kind}`)}</Table.Td>
                    <Table.Td className="nowrap">{r.requester.displayName} ({r.requester.login})</Table.Td>
                    <Table.Td>{r.summary} {r.breakGlass && <Badge size="xs" color="red">{t('approvals.breakGlass.badge')}</Badge>}</Table.Td>
                    <Table.Td><StateBadge state={r.state} /></Table.Td>
                    <Table.Td className="nowrap">{r.approvals} / {r.requiredApprovals}</Table.Td>
                    <Table.Td><Button size="compact-xs" variant="subtle" onClick={() => setOpen(open === r.id ? null : r.id)} aria-expanded={open === r.id}>{t('approvals.details')}</Button></Table.Td>
                  </Table.Tr>
                  {open === r.id && (
                    <Table.Tr>
                      <Table.Td colSpan={7}><Stack gap="xs"><ScopeTable request={r} /><Decisions request={r} /></Stack></Table.Td>
                    </Table.Tr>
                  )}
                </Fragment>
              ))}
            </Table.Tbody>
          </Table>
        )}
      </Paper>
      {closing && <CloseReviewModal review={closing} onClose={() => setClosing(null)} />}
    </Stack>
  );
}
