import { startAuthentication, startRegistration, type PublicKeyCredentialCreationOptionsJSON, type PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/browser';
import { api } from '../../lib/api.ts';

export const PASSWORD_MIN = 12;
export const PASSWORD_MAX = 256;

export const changePassword = (currentPassword: string, newPassword: string) => api.post<{ ok: true }>('/api/auth/password', { currentPassword, newPassword });
export const beginTotpEnrollment = () => api.post<{ secret: string; uri: string }>('/api/auth/mfa/enroll');
export const verifyTotp = (code: string) => api.post<{ ok: true }>('/api/auth/mfa/verify', { code });

/** Whether sign-in with the company IdP is offered, and the IdP's name for the button. */
export const getSsoInfo = () => api.get<{ enabled: boolean; label: string | null }>('/api/auth/oidc', { quietAuthErrors: true });
/** The browser goes to the IdP (a full navigation: the IdP's pages are not ours). */
export const SSO_START = '/api/auth/oidc/start';

export type Passkey = { id: string; name: string; createdAt: string; lastUsedAt: string | null; backedUp: boolean };
export const listPasskeys = () => api.get<{ passkeys: Passkey[]; available: boolean }>('/api/auth/passkeys');
export const removePasskey = (id: string) => api.delete<{ ok: true }>(`/api/auth/passkeys/${encodeURIComponent(id)}`);

/** Registers a passkey on this device (the browser asks the person), then tells the server. */
export async function addPasskey(name: string): Promise<Passkey> {
  const { options } = await api.post<{ options: PublicKeyCredentialCreationOptionsJSON }>('/api/auth/passkeys/register/options');
  const response = await startRegistration({ optionsJSON: options });
  return (await api.post<{ passkey: Passkey }>('/api/auth/passkeys/register', { name, response })).passkey;
}

/** The MFA step with a passkey: the browser signs the server's challenge. */
export async function verifyWithPasskey(): Promise<void> {
  const { options } = await api.post<{ options: PublicKeyCredentialRequestOptionsJSON }>('/api/auth/passkeys/authenticate/options');
  const response = await startAuthentication({ optionsJSON: options });
  await api.post<{ ok: true }>('/api/auth/passkeys/authenticate', { response });
}
