import { Badge } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import type { AlertStatus, Severity } from './api.ts';

const SEVERITY_COLORS: Record<Severity, string> = { low: 'gray', medium: 'yellow', high: 'orange', critical: 'red' };
const STATUS_COLORS: Record<AlertStatus, string> = { open: 'red', acknowledged: 'blue', closed: 'gray' };

export function SeverityBadge({ value }: { value: Severity }) {
  const { t } = useTranslation();
  return <Badge color={SEVERITY_COLORS[value]} variant={value === 'critical' ? 'filled' : 'light'} data-severity={value}>{t(`alerts.severity.${value}`)}</Badge>;
}

export function AlertStatusBadge({ value }: { value: AlertStatus }) {
  const { t } = useTranslation();
  return <Badge color={STATUS_COLORS[value]} variant="outline" data-status={value}>{t(`alerts.status.${value}`)}</Badge>;
}
