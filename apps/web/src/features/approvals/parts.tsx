/** Pieces every approvals screen shares: the state badge, the scope as filed, the decisions and deadlines. */
import { Badge, Group, List, Stack, Table, Text } from '@mantine/core';
import type { ApprovalRequestView, ApprovalState, ScopeValue } from '@mamori/contracts';
import { useTranslation } from 'react-i18next';
import { useLang } from '../../i18n/index.ts';
import { formatDateTime } from '../../lib/format.ts';

const STATE_COLORS: Record<ApprovalState, string> = { pending: 'yellow', approved: 'green', rejected: 'red', cancelled: 'gray', expired: 'gray', consumed: 'indigo' };

export function StateBadge({ state }: { state: ApprovalState }) {
  const { t } = useTranslation();
  return <Badge color={STATE_COLORS[state]} variant={state === 'pending' ? 'light' : 'filled'} data-testid="approval-state">{t(`approvals.state.${state}`)}</Badge>;
}

function scopeText(v: ScopeValue, yes: string, no: string, sep: string): string {
  if (Array.isArray(v)) return v.join(sep);
  if (typeof v === 'boolean') return v ? yes : no;
  return String(v);
}

/** The scope exactly as filed: what the approver approves (names and counts, never personal data). */
export function ScopeTable({ request }: { request: ApprovalRequestView }) {
  const { t } = useTranslation();
  return (
    <Table withTableBorder withColumnBorders data-testid="approval-scope" aria-label={t('approvals.scopeLabel')}>
      <Table.Tbody>
        {Object.entries(request.scope).map(([k, v]) => (
          <Table.Tr key={k}>
            <Table.Th w={180}>{t(`approvals.scopeKey.${k}`, { defaultValue: k })}</Table.Th>
            <Table.Td style={{ whiteSpace: 'pre-wrap' }}>{scopeText(v, t('common.yes'), t('common.no'), t('common.listSeparator'))}</Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}

export function Deadlines({ request }: { request: ApprovalRequestView }) {
  const { t } = useTranslation();
  const lang = useLang();
  return (
    <Group gap="lg">
      <Text size="xs">{t('approvals.field.createdAt')} {formatDateTime(request.createdAt, lang, { seconds: false })}</Text>
      {request.state === 'pending' && <Text size="xs">{t('approvals.field.expiresAt')} {formatDateTime(request.expiresAt, lang, { seconds: false })}</Text>}
      {request.validUntil && request.state === 'approved' && <Text size="xs" fw={700}>{t('approvals.field.validUntil')} {formatDateTime(request.validUntil, lang, { seconds: false })}</Text>}
      <Text size="xs">{t('approvals.field.approvals', { n: request.approvals, of: request.requiredApprovals })}</Text>
    </Group>
  );
}

export function Decisions({ request }: { request: ApprovalRequestView }) {
  const { t } = useTranslation();
  const lang = useLang();
  if (request.decisions.length === 0 && !request.breakGlass) return <Text size="xs" c="dimmed">{t('approvals.noDecisions')}</Text>;
  return (
    <Stack gap={4}>
      {request.breakGlass && <Text size="xs" c="red" fw={700}>{t('approvals.breakGlass.used', { reason: request.breakGlass.reason })}</Text>}
      <List size="xs" spacing={2}>
        {request.decisions.map((d) => (
          <List.Item key={d.approver.id}>
            <Text span size="xs" fw={600}>{d.approver.displayName} ({d.approver.login})</Text>{' '}
            <Badge size="xs" color={d.decision === 'approve' ? 'green' : 'red'}>{t(`approvals.decision.${d.decision}`)}</Badge>{' '}
            <Text span size="xs" c="dimmed">{formatDateTime(d.decidedAt, lang, { seconds: false })}</Text>
            {!d.counts && <Badge size="xs" ml={4} color="gray" variant="outline">{t('approvals.notCounting')}</Badge>}
            {d.reason && <Text size="xs">{d.reason}</Text>}
          </List.Item>
        ))}
      </List>
    </Stack>
  );
}
