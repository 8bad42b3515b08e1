/** Step 2 (first login): the one-time password is replaced before anything else. */
import { useState, type FormEvent } from 'react';
import { Alert, Button, List, PasswordInput, Stack, Text, Title } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { useSession } from '../../app/session.tsx';
import { changePassword, PASSWORD_MAX, PASSWORD_MIN } from './api.ts';

export function PasswordChangePage() {
  const { t } = useTranslation();
  const { refresh } = useSession();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [confirm, setConfirm] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const tooShort = next.length > 0 && [...next].length < PASSWORD_MIN;
  const tooLong = [...next].length > PASSWORD_MAX;
  const mismatch = confirm.length > 0 && confirm !== next;
  const sameAsOld = next.length > 0 && next === current;
  const valid = current.length > 0 && next.length > 0 && !tooShort && !tooLong && !mismatch && !sameAsOld && confirm === next;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!valid) return;
    setBusy(true);
    setError(null);
    try {
      await changePassword(current, next);
      await refresh();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form onSubmit={(e) => void submit(e)} noValidate>
      <Stack gap="sm">
        <Title order={2} size="h2">{t('auth.password.title')}</Title>
        <Alert color="blue" variant="light">
          <Text size="sm">{t('auth.password.why')}</Text>
          <List size="xs" mt={4}>
            <List.Item>{t('auth.password.ruleLength', { min: PASSWORD_MIN, max: PASSWORD_MAX })}</List.Item>
            <List.Item>{t('auth.password.rulePhrase')}</List.Item>
          </List>
        </Alert>
        <ErrorAlert error={error} compact />
        <PasswordInput size="sm" label={t('auth.password.current')} autoComplete="current-password" value={current} onChange={(e) => setCurrent(e.currentTarget.value)} required autoFocus />
        <PasswordInput
          size="sm"
          label={t('auth.password.new')}
          autoComplete="new-password"
          value={next}
          onChange={(e) => setNext(e.currentTarget.value)}
          required
          error={tooShort ? t('auth.password.tooShort', { min: PASSWORD_MIN }) : tooLong ? t('auth.password.tooLong', { max: PASSWORD_MAX }) : sameAsOld ? t('auth.password.same') : null}
        />
        <PasswordInput
          size="sm"
          label={t('auth.password.confirm')}
          autoComplete="new-password"
          value={confirm}
          onChange={(e) => setConfirm(e.currentTarget.value)}
          required
          error={mismatch ? t('auth.password.mismatch') : null}
        />
        <Button type="submit" size="sm" loading={busy} disabled={!valid}>{t('auth.password.submit')}</Button>
      </Stack>
    </form>
  );
}
