/**
 * The security center's alerts inbox: filters (status, severity, rule), a dense list, and each
 * alert's detail with its evidence. Auditors and the CPO read; the security center acts.
 */
import { useState } from 'react';
import { Alert as Callout, Badge, Group, Paper, SegmentedControl, Select, Stack, Table, Text } from '@mantine/core';
import { IconMailOff } from '@tabler/icons-react';
import { useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { canReadOutbox } from '../../app/roles.ts';
import { useMe } from '../../app/session.tsx';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { Empty, Loading } from '../../components/states.tsx';
import { useLang } from '../../i18n/index.ts';
import { formatDateTime } from '../../lib/format.ts';
import { AlertDrawer } from './AlertDrawer.tsx';
import { getOutboxStatus, listAlerts, RULE_IDS, SEVERITIES, ALERT_STATUSES, type AlertFilter, type AlertStatus, type RuleId, type Severity } from './api.ts';
import { AlertStatusBadge, SeverityBadge } from './badges.tsx';

export default function AlertsPage() {
  const { t } = useTranslation();
  const lang = useLang();
  const me = useMe();
  const [status, setStatus] = useState<AlertStatus | 'all'>('open');
  const [severity, setSeverity] = useState<Severity | null>(null);
  const [rule, setRule] = useState<RuleId | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const filter: AlertFilter = { ...(status !== 'all' ? { status } : {}), ...(severity ? { severity } : {}), ...(rule ? { rule } : {}) };
  const alerts = useQuery({ queryKey: ['alerts', filter], queryFn: ({ signal }) => listAlerts(filter, signal), refetchInterval: 60_000 });
  const outbox = useQuery({ queryKey: ['outbox'], queryFn: getOutboxStatus, enabled: canReadOutbox(me.user), staleTime: 30_000 });
  const mail = outbox.data?.find((k) => k.kind === 'mail');
  const openCount = (s: Severity) => (alerts.data?.open ?? []).filter((o) => o.severity === s).reduce((n, o) => n + o.n, 0);

  return (
    <Stack gap="xs">
      {mail && !mail.configured && (
        <Callout color="yellow" variant="light" icon={<IconMailOff size={18} aria-hidden />} title={t('alerts.mailOff.title')} data-testid="mail-off">
          {t('alerts.mailOff.body', { n: mail.pending })}
        </Callout>
      )}
      {mail && mail.configured && mail.failed > 0 && (
        <Callout color="red" variant="light" icon={<IconMailOff size={18} aria-hidden />} title={t('alerts.mailFailed.title')}>
          {t('alerts.mailFailed.body', { n: mail.failed })} {mail.lastError && <Text span size="xs" c="dimmed">({mail.lastError})</Text>}
        </Callout>
      )}
      <Paper withBorder p="xs">
        <Group gap="sm" align="flex-end">
          <SegmentedControl
            aria-label={t('alerts.filter.status')}
            value={status}
            onChange={(v) => setStatus(v as AlertStatus | 'all')}
            data={[...ALERT_STATUSES.map((s) => ({ value: s, label: t(`alerts.status.${s}`) })), { value: 'all', label: t('alerts.filter.all') }]}
          />
          <Select label={t('alerts.filter.severity')} w={160} clearable value={severity} onChange={(v) => setSeverity(v as Severity | null)}
            data={SEVERITIES.map((s) => ({ value: s, label: t(`alerts.severity.${s}`) }))} />
          <Select label={t('alerts.filter.rule')} w={300} clearable value={rule} onChange={(v) => setRule(v as RuleId | null)}
            data={RULE_IDS.map((r) => ({ value: r, label: t(`alerts.rule.${r}`) }))} />
          <Group gap={6} ml="auto" aria-label={t('alerts.openBySeverity')}>
            {[...SEVERITIES].reverse().map((s) => (
              <Badge key={s} variant="dot" color={s === 'critical' ? 'red' : s === 'high' ? 'orange' : s === 'medium' ? 'yellow' : 'gray'}>
                {t(`alerts.severity.${s}`)} {openCount(s)}
              </Badge>
            ))}
          </Group>
        </Group>
      </Paper>
      <ErrorAlert error={alerts.error} onRetry={() => void alerts.refetch()} />
      {alerts.isPending ? <Loading /> : alerts.data && alerts.data.alerts.length === 0 ? (
        <Empty title={t('alerts.empty')}>{t('alerts.emptyHint')}</Empty>
      ) : (
        <Table.ScrollContainer minWidth={900}>
          <Table aria-label={t('alerts.tableLabel')} data-testid="alerts-table" highlightOnHover>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{t('alerts.col.createdAt')}</Table.Th>
                <Table.Th>{t('alerts.col.severity')}</Table.Th>
                <Table.Th>{t('alerts.col.rule')}</Table.Th>
                <Table.Th>{t('alerts.col.subject')}</Table.Th>
                <Table.Th>{t('alerts.col.events')}</Table.Th>
                <Table.Th>{t('alerts.col.lastEventAt')}</Table.Th>
                <Table.Th>{t('alerts.col.status')}</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {alerts.data?.alerts.map((a) => (
                <Table.Tr
                  key={a.id}
                  data-clickable="true"
                  data-rule={a.rule}
                  tabIndex={0}
                  onClick={() => setOpen(a.id)}
                  onKeyDown={(k) => { if (k.key === 'Enter' || k.key === ' ') { k.preventDefault(); setOpen(a.id); } }}
                >
                  <Table.Td className="nowrap">{formatDateTime(a.createdAt, lang)}</Table.Td>
                  <Table.Td><SeverityBadge value={a.severity} /></Table.Td>
                  <Table.Td>{t(`alerts.rule.${a.rule}`)}</Table.Td>
                  <Table.Td className="nowrap">{a.subjectLogin ?? t(`alerts.subjectKind.${a.subject.split(':')[0] ?? 'user'}`, { defaultValue: a.subject })}</Table.Td>
                  <Table.Td>{a.eventCount}</Table.Td>
                  <Table.Td className="nowrap">{formatDateTime(a.lastEventAt, lang)}</Table.Td>
                  <Table.Td><AlertStatusBadge value={a.status} /></Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      {open && <AlertDrawer id={open} onClose={() => setOpen(null)} />}
    </Stack>
  );
}
