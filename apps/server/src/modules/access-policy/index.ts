export { evaluate } from './access-policy.evaluate.ts';
export { authorize, deniedError, type AuditContext } from './access-policy.authorize.ts';
export type { ApprovalPolicyContext, Decision, DatasetPolicyView, FieldPolicyView, FieldVisibility, PolicyRequest } from './access-policy.types.ts';
