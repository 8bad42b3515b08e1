/**
 * Which screens and buttons to offer. These mirror the server's rules (access-policy) only to avoid
 * showing what would be refused; the server decides every request on its own.
 */
import type { Role } from '@mamori/contracts';
import type { DatasetView, UserView } from '../lib/types.ts';

const any = (user: UserView, roles: readonly Role[]) => user.roles.some((r) => roles.includes(r));

export const canReadUsers = (u: UserView) => any(u, ['administrator', 'hr', 'cpo', 'auditor', 'security_center', 'data_owner']);
export const canManageUsers = (u: UserView) => any(u, ['administrator', 'hr']);
export const canCreateDataset = (u: UserView) => any(u, ['administrator', 'cpo']);
export const canReadGrants = (u: UserView) => any(u, ['cpo', 'auditor', 'security_center', 'data_owner', 'administrator']);
export const canReadAudit = (u: UserView) => any(u, ['auditor', 'security_center', 'cpo']);
export const canReadApprovalPolicies = (u: UserView) => any(u, ['administrator', 'cpo', 'auditor', 'security_center']);
export const canEditApprovalPolicies = (u: UserView) => any(u, ['administrator', 'cpo']);
export const canReadApprovalHistory = (u: UserView) => any(u, ['cpo', 'auditor', 'security_center']);
export const canManageScim = (u: UserView) => any(u, ['administrator']);
export const canReadLifecycle = (u: UserView) => any(u, ['administrator', 'hr', 'security_center', 'auditor', 'cpo']);
export const canReadScimLog = (u: UserView) => any(u, ['administrator', 'hr', 'security_center', 'auditor']);
export const canCloseReviews = (u: UserView) => any(u, ['cpo', 'security_center']);
export const canReadAlerts = (u: UserView) => any(u, ['security_center', 'administrator', 'auditor', 'cpo']);
export const canHandleAlerts = (u: UserView) => any(u, ['security_center', 'administrator']);
export const canReadOutbox = (u: UserView) => any(u, ['security_center', 'administrator']);
export const canCheckAuditIntegrity = (u: UserView) => any(u, ['auditor', 'security_center', 'cpo', 'administrator']);
export const canReadExportStatus = (u: UserView) => any(u, ['security_center', 'auditor', 'cpo', 'administrator']);
export const canGrant = (u: UserView, ds: DatasetView | undefined) =>
  any(u, ['cpo']) || (ds !== undefined && any(u, ['data_owner']) && ds.ownerUserId === u.id);
export const canReadSuppression = (u: UserView) => any(u, ['cpo', 'security_center', 'auditor']);
export const canReadProvision = (u: UserView) => any(u, ['cpo', 'auditor']);
export const canTrace = (u: UserView) => any(u, ['security_center', 'cpo', 'auditor']);
export const canReadTransmissionRegister = (u: UserView) => any(u, ['security_center', 'cpo', 'auditor', 'transmission_approver']);
export const canReadTransmissionRules = (u: UserView) => any(u, ['security_center', 'cpo', 'auditor', 'administrator', 'transmission_approver']);
export const canEditTransmissionRules = (u: UserView) => any(u, ['security_center', 'cpo']);
/** Reviewers are configured (security center by default); overseers read the reviews too. */
export const canReadTransmissionReviews = (u: UserView) => any(u, ['security_center', 'cpo', 'auditor']);
