/**
 * The periodic review: each period's delivered transmissions (or a sample) for the reviewers to mark
 * appropriate or not, with a note; overdue reviews are flagged; each review exports as CSV.
 */
import { useState } from 'react';
import { Anchor, Badge, Button, Group, Paper, Stack, Table, Text, Textarea, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import type { ReviewVerdict, TransmissionReviewItemView } from '@mamori/contracts';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { Empty, Loading } from '../../components/states.tsx';
import { useLang } from '../../i18n/index.ts';
import { formatDate, formatDateTime } from '../../lib/format.ts';
import { markItem, review, reviewCsvUrl, reviews } from './api.ts';
import { Details } from './parts.tsx';

function Item({ reviewId, item, open }: { reviewId: string; item: TransmissionReviewItemView; open: boolean }) {
  const { t } = useTranslation();
  const lang = useLang();
  const qc = useQueryClient();
  const [note, setNote] = useState(item.note);
  const mark = useMutation({
    mutationFn: (v: ReviewVerdict) => markItem(reviewId, item.transmission.id, v, note),
    onSuccess: () => qc.invalidateQueries({ queryKey: ['transmissions', 'reviews'] }),
  });
  const tr = item.transmission;
  return (
    <Paper withBorder p="xs" data-testid="review-item">
      <Stack gap={4}>
        <Group justify="space-between">
          <Text size="sm" fw={700}>{tr.subject}</Text>
          {item.verdict && <Badge color={item.verdict === 'appropriate' ? 'green' : 'red'}>{t(`transmissions.review.verdict.${item.verdict}`)}</Badge>}
        </Group>
        <Text size="xs">{tr.sender.displayName} ({tr.sender.login}) → {tr.recipients.join(t('common.listSeparator'))} · {tr.deliveredAt ? formatDateTime(tr.deliveredAt, lang, { seconds: false }) : ''}</Text>
        <Details tr={tr} />
        {item.markedBy && <Text size="xs" c="dimmed">{t('transmissions.review.markedBy', { who: `${item.markedBy.displayName} (${item.markedBy.login})` })}{item.note ? ` · ${item.note}` : ''}</Text>}
        {open && (
          <>
            <Textarea size="xs" label={t('transmissions.review.note')} value={note} onChange={(e) => setNote(e.currentTarget.value)} maxLength={2000} autosize minRows={1} />
            <ErrorAlert error={mark.error} compact showMessage />
            <Group justify="flex-end">
              <Button size="xs" color="red" variant="light" disabled={!note.trim()} loading={mark.isPending && mark.variables === 'inappropriate'} onClick={() => mark.mutate('inappropriate')}>{t('transmissions.review.verdict.inappropriate')}</Button>
              <Button size="xs" color="green" loading={mark.isPending && mark.variables === 'appropriate'} onClick={() => mark.mutate('appropriate')}>{t('transmissions.review.verdict.appropriate')}</Button>
            </Group>
          </>
        )}
      </Stack>
    </Paper>
  );
}

function ReviewDetail({ id }: { id: string }) {
  const { t } = useTranslation();
  const q = useQuery({ queryKey: ['transmissions', 'reviews', id], queryFn: () => review(id) });
  if (q.isPending) return <Loading />;
  if (q.error) return <ErrorAlert error={q.error} onRetry={() => void q.refetch()} />;
  return (
    <Stack gap="xs">
      <Group justify="space-between">
        <Title order={2} size="h4">{t('transmissions.review.items', { marked: q.data.review.marked, items: q.data.review.items })}</Title>
        <Anchor href={reviewCsvUrl(id)} download size="sm">{t('transmissions.review.csv')}</Anchor>
      </Group>
      {q.data.items.length === 0 ? <Empty title={t('transmissions.review.noItems')} /> : q.data.items.map((i) => <Item key={i.transmission.id} reviewId={id} item={i} open={q.data.review.state === 'open'} />)}
    </Stack>
  );
}

export default function ReviewsPage() {
  const { t } = useTranslation();
  const lang = useLang();
  const [selected, setSelected] = useState<string | null>(() => new URLSearchParams(window.location.search).get('review'));
  const q = useQuery({ queryKey: ['transmissions', 'reviews'], queryFn: reviews });
  if (q.isPending) return <Loading />;
  if (q.error) return <ErrorAlert error={q.error} onRetry={() => void q.refetch()} />;
  return (
    <Stack gap="sm">
      <Text size="sm">{t('transmissions.review.intro')}</Text>
      {q.data.length === 0 ? <Empty title={t('transmissions.review.empty')} /> : (
        <Table striped withTableBorder fz="sm" highlightOnHover>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{t('transmissions.review.period')}</Table.Th><Table.Th>{t('transmissions.review.dueAt')}</Table.Th>
              <Table.Th>{t('transmissions.field.state')}</Table.Th><Table.Th>{t('transmissions.review.progress')}</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {q.data.map((r) => (
              <Table.Tr key={r.id} onClick={() => setSelected(r.id)} style={{ cursor: 'pointer' }} data-testid="review-row" aria-selected={selected === r.id}>
                <Table.Td>{formatDate(r.periodStart, lang)} – {formatDate(new Date(new Date(r.periodEnd).getTime() - 1).toISOString(), lang)}</Table.Td>
                <Table.Td>{formatDateTime(r.dueAt, lang, { seconds: false })}</Table.Td>
                <Table.Td>
                  <Badge color={r.state === 'closed' ? 'gray' : r.overdue ? 'red' : 'yellow'} variant="light">{t(r.state === 'closed' ? 'transmissions.review.closed' : r.overdue ? 'transmissions.review.overdue' : 'transmissions.review.open')}</Badge>
                </Table.Td>
                <Table.Td>{r.marked} / {r.items}{r.inappropriate > 0 ? ` (${t('transmissions.review.inappropriateCount', { n: r.inappropriate })})` : ''}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      {selected && <ReviewDetail id={selected} />}
    </Stack>
  );
}
