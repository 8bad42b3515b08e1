/**
 * The monitoring rules: what raises an alert, how severe it is, and when mail goes out. The security
 * center and administrators change them (every change is audited); auditors and the CPO read them.
 */
import { useState, type ReactNode } from 'react';
import { Button, Chip, Group, NumberInput, Paper, Select, Stack, Switch, Text, TextInput, Textarea, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { canHandleAlerts } from '../../app/roles.ts';
import { useMe } from '../../app/session.tsx';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { Loading } from '../../components/states.tsx';
import { useLang } from '../../i18n/index.ts';
import { formatDateTime } from '../../lib/format.ts';
import { getRules, saveRules, SEVERITIES, type MonitorRules, type RulesView, type Severity } from './api.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** "uuid canary" / "uuid vip", one per line. */
function parseWatched(text: string): { records: MonitorRules['watchedRecords']['records']; bad: number[] } {
  const records: MonitorRules['watchedRecords']['records'] = [];
  const bad: number[] = [];
  text.split('\n').forEach((line, i) => {
    const [id, kind = 'canary'] = line.trim().split(/\s+/);
    if (!id) return;
    if (!UUID.test(id) || (kind !== 'canary' && kind !== 'vip')) bad.push(i + 1);
    else records.push({ recordId: id.toLowerCase(), kind });
  });
  return { records, bad };
}

function Section({ title, help, enabled, onEnabled, severity, onSeverity, readOnly, children }: {
  title: string; help: string; enabled: boolean; onEnabled: (v: boolean) => void; severity: Severity; onSeverity: (v: Severity) => void; readOnly: boolean; children?: ReactNode;
}) {
  const { t } = useTranslation();
  return (
    <Paper withBorder p="sm">
      <Stack gap={6}>
        <Group justify="space-between">
          <Title order={2} size="h5">{title}</Title>
          <Group gap="sm">
            <Select aria-label={`${title}: ${t('alerts.col.severity')}`} w={130} size="xs" value={severity} disabled={readOnly} allowDeselect={false}
              onChange={(v) => v && onSeverity(v as Severity)} data={SEVERITIES.map((s) => ({ value: s, label: t(`alerts.severity.${s}`) }))} />
            <Switch label={t('alerts.rules.enabled')} checked={enabled} disabled={readOnly} onChange={(e) => onEnabled(e.currentTarget.checked)} />
          </Group>
        </Group>
        <Text size="xs" c="dimmed">{help}</Text>
        {children}
      </Stack>
    </Paper>
  );
}

export default function RulesPage() {
  const stored = useQuery({ queryKey: ['monitor', 'rules'], queryFn: getRules });
  if (stored.isPending) return <Loading />;
  if (stored.error) return <ErrorAlert error={stored.error} onRetry={() => void stored.refetch()} />;
  // A new version (saved here or elsewhere) starts the form afresh from what is stored.
  return <RulesForm key={stored.data.version} stored={stored.data} />;
}

function RulesForm({ stored: s }: { stored: RulesView }) {
  const { t } = useTranslation();
  const lang = useLang();
  const me = useMe();
  const qc = useQueryClient();
  const readOnly = !canHandleAlerts(me.user);
  const [rules, setRules] = useState<MonitorRules>(s.rules);
  const [watched, setWatched] = useState(() => s.rules.watchedRecords.records.map((r) => `${r.recordId} ${r.kind}`).join('\n'));
  const parsed = parseWatched(watched);
  const save = useMutation({
    mutationFn: () => saveRules({ ...rules, watchedRecords: { ...rules.watchedRecords, records: parsed.records } }, s.version),
    onSuccess: async () => { await qc.invalidateQueries({ queryKey: ['monitor', 'rules'] }); },
  });
  const set = <K extends keyof MonitorRules>(k: K, patch: Partial<MonitorRules[K]>) => setRules((r) => ({ ...r, [k]: { ...r[k], ...patch } }));
  const lag = s.treeSize - s.cursor;

  return (
    <form onSubmit={(e) => { e.preventDefault(); if (!readOnly && parsed.bad.length === 0) save.mutate(); }}>
      <Stack gap="xs" maw={900}>
        <Text size="xs" c="dimmed" data-testid="rules-status">
          {t('alerts.rules.status', { version: s.version, when: formatDateTime(s.updatedAt, lang), lag, through: s.holidaysThrough ?? '—' })}
        </Text>
        {readOnly && <Text size="sm">{t('alerts.rules.readOnly')}</Text>}
        <Section title={t('alerts.rule.bulk_read')} help={t('alerts.ruleHelp.bulk_read')} readOnly={readOnly}
          enabled={rules.bulkRead.enabled} onEnabled={(enabled) => set('bulkRead', { enabled })} severity={rules.bulkRead.severity} onSeverity={(severity) => set('bulkRead', { severity })}>
          <NumberInput label={t('alerts.rules.bulkThreshold')} w={260} min={1} value={rules.bulkRead.threshold} disabled={readOnly} onChange={(v) => set('bulkRead', { threshold: Number(v) || 1 })} />
        </Section>
        <Section title={t('alerts.rule.off_hours')} help={t('alerts.ruleHelp.off_hours')} readOnly={readOnly}
          enabled={rules.offHours.enabled} onEnabled={(enabled) => set('offHours', { enabled })} severity={rules.offHours.severity} onSeverity={(severity) => set('offHours', { severity })}>
          <Group gap="sm" align="flex-end">
            <TextInput type="time" label={t('alerts.rules.start')} value={rules.offHours.start} disabled={readOnly} onChange={(e) => set('offHours', { start: e.currentTarget.value })} w={130} />
            <TextInput type="time" label={t('alerts.rules.end')} value={rules.offHours.end} disabled={readOnly} onChange={(e) => set('offHours', { end: e.currentTarget.value })} w={130} />
            <Switch label={t('alerts.rules.holidays')} checked={rules.offHours.holidays} disabled={readOnly} onChange={(e) => set('offHours', { holidays: e.currentTarget.checked })} />
          </Group>
          <Chip.Group multiple value={rules.offHours.weekdays.map(String)} onChange={(v) => set('offHours', { weekdays: v.map(Number).sort() })}>
            <Group gap={4} aria-label={t('alerts.rules.weekdays')}>
              {[1, 2, 3, 4, 5, 6, 0].map((d) => <Chip key={d} value={String(d)} size="xs" disabled={readOnly}>{t(`alerts.weekday.${d}`)}</Chip>)}
            </Group>
          </Chip.Group>
        </Section>
        <Section title={t('alerts.rule.repeated_denials')} help={t('alerts.ruleHelp.repeated_denials')} readOnly={readOnly}
          enabled={rules.repeatedDenials.enabled} onEnabled={(enabled) => set('repeatedDenials', { enabled })} severity={rules.repeatedDenials.severity} onSeverity={(severity) => set('repeatedDenials', { severity })}>
          <Group gap="sm">
            <NumberInput label={t('alerts.rules.denialThreshold')} w={200} min={2} value={rules.repeatedDenials.threshold} disabled={readOnly} onChange={(v) => set('repeatedDenials', { threshold: Number(v) || 2 })} />
            <NumberInput label={t('alerts.rules.windowMinutes')} w={200} min={1} max={1440} value={rules.repeatedDenials.windowMinutes} disabled={readOnly} onChange={(v) => set('repeatedDenials', { windowMinutes: Number(v) || 1 })} />
          </Group>
        </Section>
        <Section title={t('alerts.rule.dispatch_personal')} help={t('alerts.ruleHelp.dispatch_personal')} readOnly={readOnly}
          enabled={rules.dispatchPersonal.enabled} onEnabled={(enabled) => set('dispatchPersonal', { enabled })} severity={rules.dispatchPersonal.severity} onSeverity={(severity) => set('dispatchPersonal', { severity })} />
        <Section title={t('alerts.rule.watched_record')} help={t('alerts.ruleHelp.watched_record')} readOnly={readOnly}
          enabled={rules.watchedRecords.enabled} onEnabled={(enabled) => set('watchedRecords', { enabled })} severity={rules.watchedRecords.severity} onSeverity={(severity) => set('watchedRecords', { severity })}>
          <Textarea label={t('alerts.rules.watched')} description={t('alerts.rules.watchedHint')} value={watched} disabled={readOnly} onChange={(e) => setWatched(e.currentTarget.value)}
            autosize minRows={3} maxRows={12} styles={{ input: { fontFamily: 'monospace' } }}
            error={parsed.bad.length ? t('alerts.rules.watchedBad', { lines: parsed.bad.join(', ') }) : null} />
        </Section>
        <Paper withBorder p="sm">
          <Select label={t('alerts.rules.notify')} description={t('alerts.rules.notifyHint')} w={300} value={rules.notify.minSeverity} disabled={readOnly} allowDeselect={false}
            onChange={(v) => v && setRules({ ...rules, notify: { minSeverity: v as Severity } })} data={SEVERITIES.map((x) => ({ value: x, label: t(`alerts.severity.${x}`) }))} />
        </Paper>
        <ErrorAlert error={save.error} compact showMessage />
        {!readOnly && (
          <Group justify="flex-end">
            <Button type="submit" loading={save.isPending} disabled={parsed.bad.length > 0}>{t('alerts.rules.save')}</Button>
          </Group>
        )}
      </Stack>
    </form>
  );
}
