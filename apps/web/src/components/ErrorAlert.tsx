/** Every failure explained in words: what happened, what to do, and — for policy decisions — the rule and its reason. */
import { Alert, Button, Code, Group, Stack, Text } from '@mantine/core';
import { IconAlertTriangle } from '@tabler/icons-react';
import { useTranslation } from 'react-i18next';
import { ApiError, describeError } from '../lib/errors.ts';
import { useLang } from '../i18n/index.ts';

/** `showMessage`: also show the server's own message (validation refusals whose words say what to change). */
export function ErrorAlert({ error, onRetry, compact, showMessage }: { error: unknown; onRetry?: () => void; compact?: boolean; showMessage?: boolean }) {
  const { t } = useTranslation();
  const lang = useLang();
  if (!error) return null;
  const v = describeError(error, lang);
  return (
    <Alert color="red" variant="light" role="alert" icon={<IconAlertTriangle size={18} aria-hidden />} title={t(`${v.key}.title`)} p={compact ? 'xs' : 'sm'}>
      <Stack gap={4}>
        <Text size="sm">{t(`${v.key}.action`, { seconds: v.retryAfterSeconds ?? 0 })}</Text>
        {showMessage && !v.reason && error instanceof ApiError && error.message && (
          <Text size="sm" data-testid="server-message">
            <Text span fw={700}>{t('errors.messageLabel')}</Text> {error.message}
          </Text>
        )}
        {v.reason && (
          <Text size="sm">
            <Text span fw={700}>{t('errors.reasonLabel')}</Text> {v.reason}
          </Text>
        )}
        {v.fields.length > 0 && (
          <Text size="xs">
            {t('errors.fieldsLabel')} {v.fields.map((f) => <Code key={f} mr={4}>{f}</Code>)}
          </Text>
        )}
        <Group gap="md">
          {v.rule && (
            <Text size="xs" c="dimmed">
              {t('errors.ruleLabel')} <Code>{v.rule}</Code>
            </Text>
          )}
          <Text size="xs" c="dimmed">
            {t('errors.codeLabel')} <Code>{v.code}</Code>
          </Text>
          {v.requestId && (
            <Text size="xs" c="dimmed">
              {t('errors.requestIdLabel')} <Code>{v.requestId}</Code>
            </Text>
          )}
        </Group>
        {onRetry && (
          <Group>
            <Button variant="light" color="red" onClick={onRetry}>{t('common.retry')}</Button>
          </Group>
        )}
      </Stack>
    </Alert>
  );
}
