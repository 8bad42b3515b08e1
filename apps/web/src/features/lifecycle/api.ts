import type { LifecycleEvent, LifecycleKind } from '@mamori/contracts';
import { api } from '../../lib/api.ts';

export type TimelineFilter = { userId?: string | null; kinds: LifecycleKind[]; from?: string | null; to?: string | null };

export async function getTimeline(f: TimelineFilter): Promise<LifecycleEvent[]> {
  const qs = new URLSearchParams();
  if (f.userId) qs.set('userId', f.userId);
  for (const k of f.kinds) qs.append('kind', k);
  if (f.from) qs.set('from', f.from);
  if (f.to) qs.set('to', f.to);
  qs.set('limit', '500');
  return (await api.get<{ events: LifecycleEvent[] }>(`/api/lifecycle/timeline?${qs.toString()}`)).events;
}
