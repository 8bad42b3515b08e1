import { api } from '../../lib/api.ts';

export type ScimClient = {
  id: string; name: string; createdAt: string; revokedAt: string | null;
  tokens: { id: string; createdAt: string; lastUsedAt: string | null; revokedAt: string | null }[];
};

export type ProvisioningEvent = {
  id: number;
  at: string;
  payload: {
    action: string; decision: string; result: string; rule: string; subject: string | null;
    actor: { user: string | null };
    details: { resource?: string; op?: string; method?: string; status?: number; error?: string; changed?: string[] };
  };
};

export const listClients = () => api.get<{ clients: ScimClient[] }>('/api/scim/clients').then((r) => r.clients);
export const createClientToken = (name: string) => api.post<{ clientId: string; tokenId: string; token: string; clientCreated: boolean }>('/api/scim/clients', { name });
export const revokeToken = (id: string) => api.post<{ ok: true }>(`/api/scim/tokens/${encodeURIComponent(id)}/revoke`);
export const provisioningLog = (limit = 200) => api.get<{ events: ProvisioningEvent[] }>(`/api/scim/log?limit=${limit}`).then((r) => r.events);
