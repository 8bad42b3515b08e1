/** Which screen: the session decides (login → forced password change → second factor: passkey or TOTP → the console). */
import { lazy, Suspense } from 'react';
import { Center, Paper } from '@mantine/core';
import { ErrorAlert } from '../components/ErrorAlert.tsx';
import { ErrorBoundary } from '../components/ErrorBoundary.tsx';
import { Loading } from '../components/states.tsx';
import { AuthFrame } from '../features/auth/AuthFrame.tsx';
import { LoginPage } from '../features/auth/LoginPage.tsx';
import { PasswordChangePage } from '../features/auth/PasswordChangePage.tsx';
import { useSession } from './session.tsx';

const MfaStep = lazy(() => import('../features/auth/MfaStep.tsx'));
const Shell = lazy(() => import('./Shell.tsx'));

export function App() {
  const { state } = useSession();
  if (state.status === 'loading') return <Loading />;
  if (state.status === 'error') {
    return (
      <Center mih="100vh" p="md">
        <Paper maw={520} w="100%">
          <ErrorAlert error={state.error} onRetry={state.retry} />
        </Paper>
      </Center>
    );
  }
  if (state.status === 'anonymous') return <LoginPage notice={state.notice} />;
  const { me } = state;
  let screen;
  if (me.user.passwordChangeRequired) screen = <AuthFrame titleKey="auth.password.title"><PasswordChangePage /></AuthFrame>;
  else if (!me.mfa) screen = <AuthFrame titleKey="auth.totp.title"><MfaStep user={me.user} /></AuthFrame>;
  else screen = <Shell />;
  return (
    <ErrorBoundary>
      <Suspense fallback={<Loading />}>{screen}</Suspense>
    </ErrorBoundary>
  );
}
