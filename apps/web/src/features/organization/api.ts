import { api } from '../../lib/api.ts';
import type { Department, Group } from '../../lib/types.ts';

export const createDepartment = (name: string) => api.post<{ department: Department }>('/api/departments', { name });
export const createGroup = (name: string, memberIds: string[]) => api.post<{ group: Group }>('/api/groups', { name, memberIds });
