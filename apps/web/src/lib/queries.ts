/** Reference data several screens share (datasets, users, departments, groups), cached briefly. */
import { useQuery } from '@tanstack/react-query';
import { api } from './api.ts';
import type { DatasetView, Department, Group, UserView } from './types.ts';

export const useDatasets = () =>
  useQuery({ queryKey: ['datasets'], queryFn: () => api.get<{ datasets: DatasetView[] }>('/api/datasets').then((r) => r.datasets), staleTime: 60_000 });

/** Only for people whose role lets them read users (a refusal would be audited as a denial). */
export const useUsers = (enabled: boolean) =>
  useQuery({
    queryKey: ['users'],
    queryFn: () => api.get<{ users: UserView[] }>('/api/users', { query: { limit: 500 } }).then((r) => r.users),
    enabled,
    staleTime: 30_000,
  });

export const useDepartments = (enabled: boolean) =>
  useQuery({ queryKey: ['departments'], queryFn: () => api.get<{ departments: Department[] }>('/api/departments').then((r) => r.departments), enabled, staleTime: 60_000 });

export const useGroups = (enabled: boolean) =>
  useQuery({ queryKey: ['groups'], queryFn: () => api.get<{ groups: Group[] }>('/api/groups').then((r) => r.groups), enabled, staleTime: 60_000 });

/** Lookup helper: id → user. */
export function byId<T extends { id: string }>(xs: readonly T[] | undefined): Map<string, T> {
  return new Map((xs ?? []).map((x) => [x.id, x]));
}
