/**
 * The second factor before anything else: a passkey (when the person has one), or the TOTP code;
 * a person with neither registers one — an authenticator app, or a passkey of this device.
 */
import { useState } from 'react';
import { Button, Divider, Stack, Text, Title } from '@mantine/core';
import { IconFingerprint } from '@tabler/icons-react';
import { useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { browserSupportsWebAuthn } from '@simplewebauthn/browser';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { useSession } from '../../app/session.tsx';
import type { UserView } from '../../lib/types.ts';
import TotpPage from './TotpPage.tsx';
import { addPasskey, listPasskeys, verifyWithPasskey } from './api.ts';

export default function MfaStep({ user }: { user: UserView }) {
  const { t } = useTranslation();
  const { refresh } = useSession();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const status = useQuery({ queryKey: ['passkeys'], queryFn: listPasskeys, retry: false });
  const supported = browserSupportsWebAuthn();
  const available = supported && status.data?.available === true;

  const run = async (work: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try {
      await work();
      await refresh();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  if (user.passkeys > 0 && available) {
    return (
      <Stack gap="sm">
        <Title order={2} size="h2">{t('auth.passkey.title')}</Title>
        <Text size="sm">{t('auth.passkey.use')}</Text>
        <ErrorAlert error={error} compact />
        <Button size="sm" leftSection={<IconFingerprint size={16} />} loading={busy} onClick={() => void run(verifyWithPasskey)} autoFocus>{t('auth.passkey.verify')}</Button>
        {user.mfaEnrolled && (
          <>
            <Divider label={t('auth.passkey.orCode')} labelPosition="center" />
            <TotpPage enrolled />
          </>
        )}
      </Stack>
    );
  }
  if (user.mfaEnrolled || !available) return <TotpPage enrolled={user.mfaEnrolled} />;
  return (
    <Stack gap="sm">
      <TotpPage enrolled={false} />
      <Divider label={t('auth.passkey.orPasskey')} labelPosition="center" />
      <Text size="sm">{t('auth.passkey.registerWhy')}</Text>
      <ErrorAlert error={error} compact />
      <Button size="sm" variant="default" leftSection={<IconFingerprint size={16} />} loading={busy} onClick={() => void run(() => addPasskey(t('auth.passkey.defaultName')))}>{t('auth.passkey.register')}</Button>
    </Stack>
  );
}
