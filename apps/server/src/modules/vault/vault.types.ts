// The wire shapes live in packages/contracts, shared with the console and the CLI.
export type { DatasetField, DatasetView, GrantRecord, RecordView } from '@mamori/contracts';

export type SearchCriterion = { field: string; op: 'exact' | 'prefix'; value: string };
