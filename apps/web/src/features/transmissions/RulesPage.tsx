/** The transmission rules (audited configuration): internal domains, what blocks, what needs an approver, and the review. */
import { useState } from 'react';
import { Button, Group, MultiSelect, NumberInput, Stack, Switch, TagsInput, Text } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { DLP_KINDS, ROLES, type DlpKind, type Role, type TransmissionRulesView } from '@mamori/contracts';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { Loading } from '../../components/states.tsx';
import { useMe } from '../../app/session.tsx';
import { canEditTransmissionRules } from '../../app/roles.ts';
import { rules, saveRules } from './api.ts';

export default function RulesPage() {
  const q = useQuery({ queryKey: ['transmissions', 'rules'], queryFn: rules });
  if (q.isPending) return <Loading />;
  if (q.error) return <ErrorAlert error={q.error} onRetry={() => void q.refetch()} />;
  // A saved version starts a fresh form.
  return <RulesForm key={q.data.version} initial={q.data} />;
}

function RulesForm({ initial }: { initial: TransmissionRulesView }) {
  const { t } = useTranslation();
  const me = useMe();
  const qc = useQueryClient();
  const [draft, setDraft] = useState<TransmissionRulesView>(initial);
  const save = useMutation({
    mutationFn: (d: TransmissionRulesView) => saveRules({ internalDomains: d.internalDomains, blockKinds: d.blockKinds, approvalKinds: d.approvalKinds, minConfidence: d.minConfidence, directInternal: d.directInternal, review: d.review, version: d.version }),
    onSuccess: (r) => qc.setQueryData(['transmissions', 'rules'], r),
  });
  const edit = canEditTransmissionRules(me.user);
  const kinds = DLP_KINDS.map((k) => ({ value: k, label: t(`transmissions.kind.${k}`) }));
  const set = (patch: Partial<TransmissionRulesView>) => setDraft({ ...draft, ...patch });
  return (
    <Stack gap="sm" maw={760}>
      <Text size="sm">{t('transmissions.rules.intro')}</Text>
      <TagsInput label={t('transmissions.rules.internalDomains')} description={t('transmissions.rules.internalDomainsHint')} value={draft.internalDomains} onChange={(v) => set({ internalDomains: v })} disabled={!edit} />
      <MultiSelect label={t('transmissions.rules.blockKinds')} data={kinds} value={draft.blockKinds} onChange={(v) => set({ blockKinds: v as DlpKind[] })} disabled={!edit} />
      <MultiSelect label={t('transmissions.rules.approvalKinds')} data={kinds} value={draft.approvalKinds} onChange={(v) => set({ approvalKinds: v as DlpKind[] })} disabled={!edit} />
      <NumberInput label={t('transmissions.rules.minConfidence')} min={0} max={1} step={0.05} decimalScale={2} value={draft.minConfidence} onChange={(v) => set({ minConfidence: Number(v) })} disabled={!edit} w={200} />
      <Switch label={t('transmissions.rules.directInternal')} checked={draft.directInternal} onChange={(e) => set({ directInternal: e.currentTarget.checked })} disabled={!edit} />
      <Text size="xs" c="dimmed">{t('transmissions.rules.fixed')}</Text>
      <Group>
        <NumberInput label={t('transmissions.rules.periodDays')} min={1} max={92} value={draft.review.periodDays} onChange={(v) => set({ review: { ...draft.review, periodDays: Number(v) } })} disabled={!edit} w={160} />
        <NumberInput label={t('transmissions.rules.samplePercent')} min={1} max={100} value={draft.review.samplePercent} onChange={(v) => set({ review: { ...draft.review, samplePercent: Number(v) } })} disabled={!edit} w={160} />
        <NumberInput label={t('transmissions.rules.graceDays')} min={0} max={30} value={draft.review.graceDays} onChange={(v) => set({ review: { ...draft.review, graceDays: Number(v) } })} disabled={!edit} w={160} />
      </Group>
      <MultiSelect label={t('transmissions.rules.reviewerRoles')} data={ROLES.map((r) => ({ value: r, label: t(`roles.${r}`) }))} value={draft.review.reviewerRoles} onChange={(v) => set({ review: { ...draft.review, reviewerRoles: v as Role[] } })} disabled={!edit} />
      <ErrorAlert error={save.error} compact showMessage />
      {edit && <Group justify="flex-end"><Button loading={save.isPending} onClick={() => save.mutate(draft)}>{t('transmissions.rules.save')}</Button></Group>}
    </Stack>
  );
}
