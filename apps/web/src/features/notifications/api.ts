import type { NotificationView } from '@mamori/contracts';
import { api } from '../../lib/api.ts';

export const NOTIFICATIONS_KEY = ['notifications'] as const;
export const listNotifications = () => api.get<{ notifications: NotificationView[]; unread: number }>('/api/notifications', { query: { limit: 20 } });
export const markRead = (ids: string[] | 'all') => api.post<{ marked: number }>('/api/notifications/read', ids === 'all' ? { all: true } : { ids });
