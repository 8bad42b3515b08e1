export * from './errors.ts';
export * from './actions.ts';
export * from './domain.ts';
export * from './views.ts';
export * from './approvals.ts';
export * from './extraction.ts';
export * from './monitor.ts';
export * from './dlp.ts';
