/** Step 1: login ID and password. Says why the person is here again when a session ended. */
import { useState, type FormEvent } from 'react';
import { Alert, Button, PasswordInput, Stack, TextInput, Title } from '@mantine/core';
import { IconInfoCircle } from '@tabler/icons-react';
import { useTranslation } from 'react-i18next';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { useSession, type Notice } from '../../app/session.tsx';
import { AuthFrame } from './AuthFrame.tsx';

export function LoginPage({ notice }: { notice: Notice }) {
  const { t } = useTranslation();
  const { login } = useSession();
  const [loginId, setLoginId] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await login(loginId.trim(), password);
    } catch (err) {
      setError(err);
      setPassword('');
    } finally {
      setBusy(false);
    }
  };

  return (
    <AuthFrame titleKey="auth.signInTitle">
      <form onSubmit={(e) => void submit(e)} noValidate>
        <Stack gap="sm">
          <Title order={2} size="h2">{t('auth.signInTitle')}</Title>
          {notice === 'ended' && !error && (
            <Alert color="yellow" icon={<IconInfoCircle size={18} />} title={t('auth.sessionEnded.title')} role="alert" data-testid="session-ended">
              {t('auth.sessionEnded.body')}
            </Alert>
          )}
          {notice === 'signedOut' && !error && (
            <Alert color="blue" icon={<IconInfoCircle size={18} />} role="status">{t('auth.signedOut')}</Alert>
          )}
          <ErrorAlert error={error} compact />
          <TextInput
            size="sm"
            label={t('auth.loginId')}
            name="username"
            autoComplete="username"
            value={loginId}
            onChange={(e) => setLoginId(e.currentTarget.value)}
            required
            data-autofocus
            autoFocus
          />
          <PasswordInput
            size="sm"
            label={t('auth.passwordLabel')}
            name="password"
            autoComplete="current-password"
            value={password}
            onChange={(e) => setPassword(e.currentTarget.value)}
            required
          />
          <Button type="submit" size="sm" loading={busy} disabled={!loginId || !password}>{t('auth.signIn')}</Button>
        </Stack>
      </form>
    </AuthFrame>
  );
}
