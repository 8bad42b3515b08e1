/** Pieces the transmission screens share: the state badge, reasons, findings (masked) and the details of one message. */
import { Badge, Group, List, Stack, Text } from '@mantine/core';
import type { TransmissionState, TransmissionView } from '@mamori/contracts';
import { useTranslation } from 'react-i18next';
import type { TFunction } from 'i18next';
import { useLang } from '../../i18n/index.ts';
import { formatDateTime } from '../../lib/format.ts';

const COLORS: Record<TransmissionState, string> = {
  unconfirmed: 'orange', pending_approval: 'yellow', queued: 'blue', delivered: 'green', blocked: 'red', rejected: 'red', cancelled: 'gray', failed: 'red',
};

export function TransmissionStateBadge({ state }: { state: TransmissionState }) {
  const { t } = useTranslation();
  return <Badge color={COLORS[state]} variant="light" data-testid="transmission-state">{t(`transmissions.state.${state}`)}</Badge>;
}

/** A rule's reason (`finding:phone`, `block:my_number`, `scan_error:DLP_LIMIT_EXCEEDED`…) in words. */
export function reasonText(t: TFunction, reason: string): string {
  const [head, arg] = reason.split(':');
  if (head === 'finding' || head === 'block') return t(`transmissions.reason.${head}`, { kind: t(`transmissions.kind.${arg}`, { defaultValue: arg }) });
  if (head === 'scan_error') return t('transmissions.reason.scan_error', { code: arg });
  return t(`transmissions.reason.${head}`, { defaultValue: reason });
}

export function Details({ tr }: { tr: TransmissionView }) {
  const { t } = useTranslation();
  const lang = useLang();
  return (
    <Stack gap={4}>
      <Group gap={6}>{tr.reasons.map((r) => <Badge key={r} size="xs" variant="outline" color={r.startsWith('block') || r.startsWith('scan_error') ? 'red' : 'gray'}>{reasonText(t, r)}</Badge>)}</Group>
      {tr.attachments.length > 0 && <Text size="xs">{t('transmissions.field.attachments')}: {tr.attachments.map((a) => `${a.name} (${a.bytes} B)`).join(t('common.listSeparator'))}</Text>}
      {tr.findings.length > 0 && (
        <List size="xs" spacing={0} data-testid="transmission-findings">
          {tr.findings.slice(0, 10).map((f, i) => (
            <List.Item key={i}>{t(`transmissions.kind.${f.kind}`, { defaultValue: f.kind })} · {f.part}:{f.line} · <code>{f.excerpt}</code></List.Item>
          ))}
        </List>
      )}
      {tr.approvedBy.length > 0 && <Text size="xs">{t('transmissions.field.approvedBy')}: {tr.approvedBy.map((p) => `${p.displayName} (${p.login})`).join(t('common.listSeparator'))}</Text>}
      {tr.bcc && <Text size="xs">{t('transmissions.field.bcc')}: {tr.bcc.displayName} ({tr.bcc.login})</Text>}
      {tr.deliveryError && (
        <Text size="xs" c="red" data-testid="delivery-error">
          {t(`transmissions.deliveryError.${tr.deliveryError}`)} ({tr.deliveryError}){tr.nextAttemptAt ? ` · ${t('transmissions.field.nextAttempt')} ${formatDateTime(tr.nextAttemptAt, lang, { seconds: false })}` : ''}
        </Text>
      )}
    </Stack>
  );
}
