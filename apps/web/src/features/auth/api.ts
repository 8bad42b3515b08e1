import { api } from '../../lib/api.ts';

export const PASSWORD_MIN = 12;
export const PASSWORD_MAX = 256;

export const changePassword = (currentPassword: string, newPassword: string) => api.post<{ ok: true }>('/api/auth/password', { currentPassword, newPassword });
export const beginTotpEnrollment = () => api.post<{ secret: string; uri: string }>('/api/auth/mfa/enroll');
export const verifyTotp = (code: string) => api.post<{ ok: true }>('/api/auth/mfa/verify', { code });
