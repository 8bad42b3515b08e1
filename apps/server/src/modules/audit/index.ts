export { appendAudit, appendAuditAlone, sequenceOnce, sequenceAll, SEQUENCER_BATCH, integrateAll, publishToWitnesses, type SequenceResult, type SequencerOptions } from './audit.service.ts';
export { auditColumns, buildAuditPayload, RECORDS_PLACEHOLDER, RESULT_PLACEHOLDER, type AuditColumns } from './audit.payload.ts';
export { leafHash, nodeHash, merkleRoot, rootFromCompactRange, appendToCompactRange, EMPTY_ROOT } from './audit.merkle.ts';
export { auditRepository, type AuditFilter, type AuditRow } from './audit.repository.ts';
export type { AuditEventInput, AuditResult, AuditEventView } from './audit.types.ts';
export { startExporter, type Exporter, type ExporterOptions } from './audit.exporter.ts';
export { createSinks, syslogSink, httpsSink, fileSink, type ExportSink } from './audit.export-sinks.ts';
export { exportRange, exportStatus } from './audit.export.ts';
