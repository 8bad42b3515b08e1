export type { Actor, GrantView, Terminal, UserView } from './identity.types.ts';
export { systemActor, asUserId } from './identity.types.ts';
export { anonymousActor } from './identity.actor.ts';
export * as identity from './identity.service.ts';
export { LOCKOUT_THRESHOLD, lockoutDuration, sessionRefOf, type CreateUserInput, type UpdateUserInput, type UserConsequences, type LoginResult, type ResolvedSession } from './identity.service.ts';
export { invalidateActors, startActorBroadcast } from './identity.cache.ts';
export { userDirectory } from './identity.directory.ts';
