import type { EmploymentType, Role, UserStatus } from '@mamori/contracts';
import { api } from '../../lib/api.ts';
import type { UserView } from '../../lib/types.ts';

export type CreateUserInput = {
  login: string;
  displayName: string;
  email?: string | null;
  employmentType: EmploymentType;
  departmentId?: string | null;
  supervisorId?: string | null;
  roles?: Role[];
};

export const createUser = (input: CreateUserInput) => api.post<{ user: UserView; oneTimePassword: string }>('/api/users', input);
export const setUserStatus = (id: string, status: UserStatus, reason: string) =>
  api.post<{ user: UserView }>(`/api/users/${encodeURIComponent(id)}/status`, { status, reason });

export type UpdateUserInput = {
  displayName?: string;
  email?: string | null;
  employmentType?: EmploymentType;
  departmentId?: string | null;
  supervisorId?: string | null;
  roles?: Role[];
  groupIds?: string[];
  /** The version the form was loaded from: a 409 `conflict` means someone changed the user meanwhile. */
  version: number;
};

export const getUser = (id: string) => api.get<{ user: UserView }>(`/api/users/${encodeURIComponent(id)}`).then((r) => r.user);
export const updateUser = (id: string, input: UpdateUserInput) => api.patch<{ user: UserView }>(`/api/users/${encodeURIComponent(id)}`, input);
