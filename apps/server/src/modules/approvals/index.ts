export {
  authorizeFiling, fileRequest, consume, withApproval, decide, cancel, breakGlass, expireDue, withdrawForLeaver,
  getRequest, myRequests, waitingForMe, type FileRequestInput, type ConsumeOptions,
} from './approvals.service.ts';
export { listPolicies, updatePolicy } from './approvals.policies.ts';
export { history, historyCsv, csvCell, listReviews, closeReview, type HistoryQuery } from './approvals.history.ts';
export { approvalsRoutes } from './approvals.routes.ts';
