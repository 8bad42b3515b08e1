export { leave, move, becomeDispatch, retireDue, LEAVER_ALERT_DAYS, type LeaveCause, type LeaveSummary } from './lifecycle.service.ts';
export { EXIT_ACTIONS } from './lifecycle.repository.ts';
export { consequences, setUserStatus, updateUser } from './lifecycle.console.ts';
export { lifecycleTimeline, kindOf, type TimelineQuery } from './lifecycle.timeline.ts';
export { lifecycleRoutes } from './lifecycle.routes.ts';
