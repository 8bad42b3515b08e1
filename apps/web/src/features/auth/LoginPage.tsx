/** Step 1: login ID and password. Says why the person is here again when a session ended. */
import { useState, type FormEvent } from 'react';
import { Alert, Button, Divider, PasswordInput, Stack, TextInput, Title } from '@mantine/core';
import { IconInfoCircle, IconLogin2 } from '@tabler/icons-react';
import { useQuery } from '@tanstack/react-query';
import { useTranslation } from 'react-i18next';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { useSession, type Notice } from '../../app/session.tsx';
import { AuthFrame } from './AuthFrame.tsx';
import { ApiError } from '../../lib/errors.ts';
import { getSsoInfo, SSO_START } from './api.ts';

/** An SSO refusal comes back as `/?sso_error=<code>`: read once, then taken out of the address bar. */
function takeSsoError(): ApiError | null {
  const params = new URLSearchParams(window.location.search);
  const code = params.get('sso_error');
  if (!code) return null;
  params.delete('sso_error');
  const rest = params.toString();
  window.history.replaceState(null, '', `${window.location.pathname}${rest ? `?${rest}` : ''}`);
  return new ApiError(code === 'auth.sso_unavailable' ? 503 : code === 'auth.sso_refused' ? 403 : 401, /^[a-z_.]{1,60}$/.test(code) ? code : 'auth.sso_failed', '');
}

export function LoginPage({ notice }: { notice: Notice }) {
  const { t } = useTranslation();
  const { login } = useSession();
  const [loginId, setLoginId] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>(takeSsoError);
  const [busy, setBusy] = useState(false);
  const sso = useQuery({ queryKey: ['sso'], queryFn: getSsoInfo, staleTime: 60_000, retry: false });

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
          {sso.data?.enabled && (
            <>
              <Divider label={t('auth.sso.or')} labelPosition="center" />
              <Button component="a" href={SSO_START} variant="default" size="sm" leftSection={<IconLogin2 size={16} />} data-testid="sso-button">
                {t('auth.sso.button', { idp: sso.data.label ?? 'SSO' })}
              </Button>
            </>
          )}
        </Stack>
      </form>
    </AuthFrame>
  );
}
