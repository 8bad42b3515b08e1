/** Status colours, the same everywhere: allow green, deny red, masked grey; classifications by sensitivity. */
import { Badge, Group, Text, Tooltip } from '@mantine/core';
import { IconLock } from '@tabler/icons-react';
import { isPersonalLevel, type Classification, type EmploymentType, type UserStatus } from '@mamori/contracts';
import { useTranslation } from 'react-i18next';

export const CLASSIFICATION_COLORS: Record<Classification, string> = {
  public: 'teal',
  internal: 'blue',
  personal: 'orange',
  confidential: 'red',
  special_care: 'grape',
};

export function ClassificationBadge({ value }: { value: Classification }) {
  const { t } = useTranslation();
  return (
    <Badge color={CLASSIFICATION_COLORS[value]} variant={isPersonalLevel(value) ? 'filled' : 'light'} leftSection={isPersonalLevel(value) ? <IconLock size={10} aria-hidden /> : null}>
      {t(`classification.${value}`)}
    </Badge>
  );
}

export function DecisionBadge({ value }: { value: 'allow' | 'deny' | string }) {
  const { t } = useTranslation();
  const allow = value === 'allow';
  return (
    <Badge color={allow ? 'green' : 'red'} variant="filled">
      {t(allow ? 'decision.allow' : 'decision.deny')}
    </Badge>
  );
}

const STATUS_COLORS: Record<UserStatus, string> = { active: 'green', suspended: 'yellow', retired: 'gray' };

export function UserStatusBadge({ value }: { value: UserStatus }) {
  const { t } = useTranslation();
  return (
    <Badge color={STATUS_COLORS[value]} variant={value === 'active' ? 'light' : 'filled'}>
      {t(`userStatus.${value}`)}
    </Badge>
  );
}

export function EmploymentBadge({ value, onDark }: { value: EmploymentType | null | undefined; onDark?: boolean }) {
  const { t } = useTranslation();
  if (!value) return <Text span size="xs" c="dimmed">—</Text>;
  const dispatch = value === 'dispatch';
  const badge = (
    <Badge color={dispatch ? 'orange' : onDark ? 'indigo' : 'gray'} variant={onDark ? (dispatch ? 'filled' : 'white') : dispatch ? 'outline' : 'light'}>
      {t(`employment.${value}`)}
    </Badge>
  );
  return dispatch ? <Tooltip label={t('employment.dispatchNote')}>{badge}</Tooltip> : badge;
}

/** A masked value: grey, monospace, with a lock, and a label that says it is masked. */
export function MaskedValue({ value }: { value: string }) {
  const { t } = useTranslation();
  return (
    <Group gap={4} wrap="nowrap" component="span">
      <IconLock size={12} color="var(--mantine-color-gray-6)" aria-label={t('records.maskedLabel')} />
      <span className="masked-value">{value}</span>
    </Group>
  );
}
