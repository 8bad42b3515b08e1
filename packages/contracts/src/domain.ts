/** Vocabulary shared by server, console and CLI. */
export const EMPLOYMENT_TYPES = ['employee', 'dispatch', 'part_time', 'advisor', 'contractor'] as const;
export type EmploymentType = (typeof EMPLOYMENT_TYPES)[number];

export const EMPLOYMENT_TYPE_LABELS: Record<EmploymentType, { ja: string; en: string }> = {
  employee: { ja: '正社員', en: 'Employee' },
  dispatch: { ja: '派遣社員', en: 'Dispatch worker' },
  part_time: { ja: 'アルバイト', en: 'Part-time' },
  advisor: { ja: '顧問', en: 'Advisor' },
  contractor: { ja: '業務委託', en: 'Contractor' },
};

export const ROLES = [
  'administrator',
  'cpo',
  'auditor',
  'security_center',
  'data_owner',
  'handler',
  'transmission_approver',
  'cio',
  'hr',
] as const;
export type Role = (typeof ROLES)[number];

export const USER_STATUSES = ['active', 'suspended', 'retired'] as const;
export type UserStatus = (typeof USER_STATUSES)[number];

/** Field classifications, ordered from least to most sensitive. */
export const CLASSIFICATIONS = ['public', 'internal', 'personal', 'confidential', 'special_care'] as const;
export type Classification = (typeof CLASSIFICATIONS)[number];

export const CLASSIFICATION_LABELS: Record<Classification, { ja: string; en: string }> = {
  public: { ja: '公開', en: 'Public' },
  internal: { ja: '社内', en: 'Internal' },
  personal: { ja: '個人情報', en: 'Personal' },
  confidential: { ja: '機密性の高い個人情報', en: 'Confidential personal' },
  special_care: { ja: '要配慮個人情報', en: 'Special-care personal' },
};

/** Personal level and above: encrypted at rest, masked by default, never for dispatch workers. */
export function isPersonalLevel(c: Classification): boolean {
  return c === 'personal' || c === 'confidential' || c === 'special_care';
}

export const FIELD_KINDS = ['text', 'name', 'kana', 'phone', 'email', 'postal_code', 'address', 'number', 'date'] as const;
export type FieldKind = (typeof FIELD_KINDS)[number];

export const SEARCH_MODES = ['none', 'exact', 'prefix'] as const;
export type SearchMode = (typeof SEARCH_MODES)[number];
