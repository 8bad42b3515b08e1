/**
 * Every action the policy engine decides on. Each name has a rule in access-policy and a test.
 * Audit events carry these names, so they are stable.
 */
export const ACTIONS = [
  'auth.login',
  'auth.logout',
  'auth.password.change',
  'auth.mfa.enroll',
  'auth.mfa.verify',
  'user.create',
  'user.update',
  'user.read',
  'user.status.change',
  'token.create',
  'token.revoke',
  'session.revoke',
  'dataset.create',
  'dataset.read',
  'dataset.key.rotate',
  'grant.create',
  'grant.revoke',
  'grant.read',
  'record.search',
  'record.read',
  'record.unmask',
  'record.create',
  'record.update',
  'record.delete',
  'record.import',
  'audit.read',
  'audit.integrity.read',
  'audit.verify',
  'ledger.read',
] as const;
export type Action = (typeof ACTIONS)[number];
