export { createDataset, getDataset, listDatasets, loadDataset, rewrapAllDatasetKeys, forgetDataset, termOf, type CreateDatasetInput, type LoadedDataset } from './vault.datasets.ts';
export { createGrant, expireGrant, listGrants, revokeGrant, type CreateGrantInput } from './vault.grants.ts';
export { createRecord, deleteRecord, readRecord, searchRecords, unmaskField, updateRecord, readBatchStats, configureReadBatching, MAX_PAGE_SIZE } from './vault.records.ts';
export { importRecords, type ImportOptions, type ImportProgress, type ImportResult } from './vault.import.ts';
export type { ImportRow } from './vault.import-errors.ts';
export { buildLedger } from './vault.ledger.ts';
export type { DatasetView, DatasetField, RecordView, SearchCriterion, GrantRecord } from './vault.types.ts';
export { suspendUserGrants, type GrantSelector, type SuspendedGrant } from './vault.grant-suspension.ts';
export { decodePersonal, maskValue, validateValue } from './vault.codec.ts';
