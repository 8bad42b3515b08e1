export { scimRoutes, SCIM_PREFIX } from './scim.routes.ts';
export { scimAdminRoutes } from './scim.admin-routes.ts';
export { createClientToken, listClients, revokeToken, provisioningLog, type ScimClientView } from './scim.clients.ts';
export { DEFAULT_USER_TYPES } from './scim.resources.ts';
