/**
 * Designate a handler: who (user or group) × which fields (and which of them may be unmasked) ×
 * which purposes × until when, and why. A dispatch worker cannot be given personal-level fields:
 * those fields are disabled and the form says why (the server refuses anyway: grant.dispatch_worker).
 */
import { useMemo, useState } from 'react';
import { Alert, Button, Checkbox, Group, Modal, SegmentedControl, Select, SimpleGrid, Stack, Switch, Table, Text, TextInput, Textarea } from '@mantine/core';
import { IconAlertTriangle } from '@tabler/icons-react';
import { isPersonalLevel } from '@mamori/contracts';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { ClassificationBadge } from '../../components/badges.tsx';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { datasetLabel, fieldLabel, userLabel } from '../../components/labels.ts';
import { useLang } from '../../i18n/index.ts';
import { addDays, jstDay, jstDayToIso } from '../../lib/format.ts';
import type { DatasetView, Group as GroupT, UserView } from '../../lib/types.ts';
import { createGrant } from './api.ts';
import { blockedFields, MAX_GRANT_DAYS, unmaskCandidates } from './logic.ts';

export function GrantForm({ dataset, users, groups, onClose }: { dataset: DatasetView; users: UserView[]; groups: GroupT[]; onClose: () => void }) {
  const { t } = useTranslation();
  const lang = useLang();
  const qc = useQueryClient();
  const today = jstDay(new Date());
  const [subjectType, setSubjectType] = useState<'user' | 'group'>('user');
  const [subjectId, setSubjectId] = useState<string | null>(null);
  const [fields, setFields] = useState<string[]>([]);
  const [unmask, setUnmask] = useState<string[]>([]);
  const [purposes, setPurposes] = useState<string[]>([]);
  const [canWrite, setCanWrite] = useState(false);
  const [until, setUntil] = useState(addDays(today, 90));
  const [reason, setReason] = useState('');

  const ordered = useMemo(() => dataset.fields.slice().sort((a, b) => a.position - b.position), [dataset]);
  const subject = subjectType === 'user' ? users.find((u) => u.id === subjectId) : undefined;
  const blocked = blockedFields(ordered, subject);
  const dispatch = subject?.employmentType === 'dispatch';
  const candidates = unmaskCandidates(ordered, fields);
  const lastDay = addDays(today, MAX_GRANT_DAYS - 1);
  const untilIso = jstDayToIso(until, { endOfDay: true });
  const untilInvalid = !untilIso || until < today || until > lastDay;

  const pickSubject = (id: string | null) => {
    setSubjectId(id);
    const u = subjectType === 'user' ? users.find((x) => x.id === id) : undefined;
    const b = blockedFields(ordered, u);
    if (b.size > 0) {
      setFields((fs) => fs.filter((f) => !b.has(f)));
      setUnmask((fs) => fs.filter((f) => !b.has(f)));
    }
  };
  const toggleField = (name: string, on: boolean) => {
    setFields((fs) => (on ? [...fs, name] : fs.filter((f) => f !== name)));
    if (!on) setUnmask((fs) => fs.filter((f) => f !== name));
  };
  const selectAll = (onlyCompany: boolean) =>
    setFields(ordered.filter((f) => !blocked.has(f.name) && (!onlyCompany || !isPersonalLevel(f.classification))).map((f) => f.name));

  const create = useMutation({
    mutationFn: () =>
      createGrant(dataset.name, {
        subjectType, subjectId: subjectId!, fields, unmaskFields: unmask.filter((f) => fields.includes(f)), purposes, canWrite, validUntil: untilIso!, reason: reason.trim(),
      }),
    onSuccess: async () => {
      await qc.invalidateQueries({ queryKey: ['grants', dataset.name] });
      onClose();
    },
  });
  const valid = subjectId && fields.length > 0 && purposes.length > 0 && !untilInvalid && reason.trim() !== '';

  const userOptions = users
    .filter((u) => u.status === 'active' && u.kind === 'person')
    .map((u) => ({ value: u.id, label: `${userLabel(u)}${u.employmentType === 'dispatch' ? ` · ${t('employment.dispatch')}` : ''}` }));
  const groupOptions = groups.map((g) => ({ value: g.id, label: g.name }));

  return (
    <Modal opened onClose={onClose} size={820} title={<Text fw={700}>{t('grants.form.title', { dataset: datasetLabel(dataset, lang) })}</Text>} closeButtonProps={{ 'aria-label': t('common.close') }}>
      <form onSubmit={(e) => { e.preventDefault(); if (valid) create.mutate(); }}>
        <Stack gap="sm">
          <Group align="flex-end" gap="sm">
            <SegmentedControl
              size="xs"
              aria-label={t('grants.form.subjectType')}
              value={subjectType}
              onChange={(v) => { setSubjectType(v === 'group' ? 'group' : 'user'); setSubjectId(null); }}
              data={[{ value: 'user', label: t('grants.subjectType.user') }, { value: 'group', label: t('grants.subjectType.group') }]}
            />
            <Select
              label={t(subjectType === 'user' ? 'grants.form.user' : 'grants.form.group')}
              w={340}
              searchable
              value={subjectId}
              onChange={pickSubject}
              data={subjectType === 'user' ? userOptions : groupOptions}
              required
              nothingFoundMessage={t('common.nothingFound')}
              data-autofocus
            />
          </Group>
          {dispatch && (
            <Alert color="orange" icon={<IconAlertTriangle size={18} />} title={t('grants.form.dispatchTitle')} data-testid="dispatch-warning">
              <Text size="sm">{t('grants.form.dispatchBody')}</Text>
            </Alert>
          )}
          <Stack gap={4}>
            <Group justify="space-between">
              <Text size="sm" fw={600}>{t('grants.form.fields')}</Text>
              <Group gap={4}>
                <Button size="compact-xs" variant="subtle" onClick={() => selectAll(true)}>{t('grants.form.selectCompany')}</Button>
                <Button size="compact-xs" variant="subtle" onClick={() => selectAll(false)}>{t('grants.form.selectAll')}</Button>
                <Button size="compact-xs" variant="subtle" color="gray" onClick={() => { setFields([]); setUnmask([]); }}>{t('grants.form.selectNone')}</Button>
              </Group>
            </Group>
            <Table striped={false} aria-label={t('grants.form.fields')} data-testid="grant-fields">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>{t('grants.form.grantField')}</Table.Th>
                  <Table.Th>{t('datasets.field.classification')}</Table.Th>
                  <Table.Th>{t('grants.form.unmask')}</Table.Th>
                  <Table.Th>{t('grants.form.note')}</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {ordered.map((f) => {
                  const isBlocked = blocked.has(f.name);
                  const label = fieldLabel(f, lang);
                  return (
                    <Table.Tr key={f.name} data-field={f.name}>
                      <Table.Td>
                        <Checkbox label={label} checked={fields.includes(f.name)} disabled={isBlocked} onChange={(e) => toggleField(f.name, e.currentTarget.checked)} />
                      </Table.Td>
                      <Table.Td><ClassificationBadge value={f.classification} /></Table.Td>
                      <Table.Td>
                        {isPersonalLevel(f.classification) && (
                          <Checkbox
                            aria-label={t('grants.form.unmaskField', { field: label })}
                            checked={unmask.includes(f.name)}
                            disabled={!candidates.includes(f.name)}
                            onChange={(e) => { const on = e.currentTarget.checked; setUnmask((u) => (on ? [...u, f.name] : u.filter((x) => x !== f.name))); }}
                          />
                        )}
                      </Table.Td>
                      <Table.Td>{isBlocked && <Text size="xs" c="orange.9">{t('grants.form.blockedDispatch')}</Text>}</Table.Td>
                    </Table.Tr>
                  );
                })}
              </Table.Tbody>
            </Table>
          </Stack>
          <SimpleGrid cols={2} spacing="sm">
            <Checkbox.Group label={t('grants.form.purposes')} value={purposes} onChange={setPurposes} required>
              <Group gap="sm" mt={4}>{dataset.purposes.map((p) => <Checkbox key={p} value={p} label={p} />)}</Group>
            </Checkbox.Group>
            <Stack gap="xs">
              <TextInput label={t('grants.form.validUntil')} description={t('grants.form.validUntilHint', { days: MAX_GRANT_DAYS })} type="date" min={today} max={lastDay} value={until} onChange={(e) => setUntil(e.currentTarget.value)} error={untilInvalid ? t('grants.form.validUntilInvalid') : null} required w={200} />
              <Switch size="xs" label={t('grants.form.canWrite')} checked={canWrite} onChange={(e) => setCanWrite(e.currentTarget.checked)} />
            </Stack>
          </SimpleGrid>
          <Textarea size="xs" label={t('grants.form.reason')} description={t('grants.form.reasonHint')} value={reason} onChange={(e) => setReason(e.currentTarget.value)} required maxLength={500} autosize minRows={2} />
          <ErrorAlert error={create.error} compact />
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>{t('common.cancel')}</Button>
            <Button type="submit" loading={create.isPending} disabled={!valid}>{t('grants.form.submit')}</Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
