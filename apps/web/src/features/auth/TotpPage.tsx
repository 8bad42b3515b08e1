/**
 * Step 3: TOTP. Not yet enrolled: register an authenticator app (QR code drawn here, in the
 * browser — the secret never leaves for any other site — plus the secret as text), then confirm
 * with a code. Enrolled: enter the current code.
 */
import { useEffect, useState, type FormEvent } from 'react';
import { Alert, Button, Code, Group, Image, List, Stack, Text, TextInput, Title } from '@mantine/core';
import QRCode from 'qrcode';
import { useTranslation } from 'react-i18next';
import { ErrorAlert } from '../../components/ErrorAlert.tsx';
import { useSession } from '../../app/session.tsx';
import { beginTotpEnrollment, verifyTotp } from './api.ts';

/** The secret in groups of four, easier to type into an app by hand. */
const groupSecret = (s: string) => s.replace(/(.{4})/g, '$1 ').trim();
/** Full-width digits (typed with a Japanese IME on) count as digits. */
const halfWidthDigits = (s: string) => s.replace(/[\uFF10-\uFF19]/g, (d) => String.fromCharCode(d.charCodeAt(0) - 0xfee0));

export default function TotpPage({ enrolled }: { enrolled: boolean }) {
  const { t } = useTranslation();
  const { refresh } = useSession();
  const [enrolment, setEnrolment] = useState<{ secret: string; uri: string } | null>(null);
  const [qr, setQr] = useState<string | null>(null);
  const [code, setCode] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (!enrolment) return;
    let live = true;
    QRCode.toDataURL(enrolment.uri, { errorCorrectionLevel: 'M', margin: 1, width: 184 })
      .then((url) => live && setQr(url))
      .catch(() => live && setQr(null));
    return () => {
      live = false;
    };
  }, [enrolment]);

  const start = async () => {
    setBusy(true);
    setError(null);
    try {
      setEnrolment(await beginTotpEnrollment());
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const verify = async (e?: FormEvent) => {
    e?.preventDefault();
    if (code.length !== 6) return;
    setBusy(true);
    setError(null);
    try {
      await verifyTotp(code);
      await refresh();
    } catch (err) {
      setError(err);
      setCode('');
    } finally {
      setBusy(false);
    }
  };

  const codeForm = (
    <form onSubmit={(e) => void verify(e)} noValidate>
      <Stack gap="xs">
        <TextInput
          size="md"
          label={t('auth.totp.codeLabel')}
          description={t('auth.totp.codeHint')}
          value={code}
          onChange={(e) => setCode(halfWidthDigits(e.currentTarget.value).replace(/\D/g, '').slice(0, 6))}
          inputMode="numeric"
          autoComplete="one-time-code"
          maxLength={6}
          ff="monospace"
          w={180}
          autoFocus={enrolled}
          required
        />
        <Button type="submit" size="sm" loading={busy} disabled={code.length !== 6}>{t(enrolled ? 'auth.totp.verify' : 'auth.totp.confirmEnrol')}</Button>
      </Stack>
    </form>
  );

  if (enrolled) {
    return (
      <Stack gap="sm">
        <Title order={2} size="h2">{t('auth.totp.title')}</Title>
        <Text size="sm">{t('auth.totp.enterCode')}</Text>
        <ErrorAlert error={error} compact />
        {codeForm}
      </Stack>
    );
  }

  return (
    <Stack gap="sm">
      <Title order={2} size="h2">{t('auth.totp.enrolTitle')}</Title>
      <Text size="sm">{t('auth.totp.enrolWhy')}</Text>
      <ErrorAlert error={error} compact />
      {!enrolment ? (
        <Button size="sm" onClick={() => void start()} loading={busy} autoFocus>{t('auth.totp.start')}</Button>
      ) : (
        <>
          <List type="ordered" size="sm" spacing={2}>
            <List.Item>{t('auth.totp.step1')}</List.Item>
            <List.Item>{t('auth.totp.step2')}</List.Item>
            <List.Item>{t('auth.totp.step3')}</List.Item>
          </List>
          <Group align="flex-start" wrap="nowrap" gap="md">
            {qr ? <Image src={qr} alt={t('auth.totp.qrAlt')} w={184} h={184} fit="contain" /> : <Text size="xs" c="dimmed">{t('common.loading')}</Text>}
            <Stack gap={4}>
              <Text size="xs" c="dimmed">{t('auth.totp.secretLabel')}</Text>
              <Code fz="sm" data-testid="totp-secret" data-secret={enrolment.secret}>{groupSecret(enrolment.secret)}</Code>
              <Alert color="yellow" variant="light" p="xs">
                <Text size="xs">{t('auth.totp.secretWarning')}</Text>
              </Alert>
            </Stack>
          </Group>
          {codeForm}
        </>
      )}
    </Stack>
  );
}
