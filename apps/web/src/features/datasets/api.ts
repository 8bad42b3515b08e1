import type { Classification, FieldKind, SearchMode } from '@mamori/contracts';
import { api } from '../../lib/api.ts';
import type { DatasetView } from '../../lib/types.ts';

export type NewField = { name: string; labelJa: string; labelEn: string; classification: Classification; kind: FieldKind; search: SearchMode };
export type NewDataset = { name: string; labelJa: string; labelEn: string; description?: string; ownerUserId: string; purposes: string[]; fields: NewField[] };

export const createDataset = (input: NewDataset) => api.post<{ dataset: DatasetView }>('/api/datasets', input);
