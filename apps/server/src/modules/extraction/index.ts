export { previewExtraction, requestExtraction, getExtraction, myExtractions } from './extraction.service.ts';
export { runDueExtractions, runExtraction, startExtraction, resumeInterrupted, downloadExtraction, LEASE_MS, MAX_ATTEMPTS, type ExtractionSettings, type Download } from './extraction.run.ts';
export { addSuppression, removeSuppression, listSuppression, listProvisionRecords, recordTransmissionProvision, type SuppressionInput, type TransmissionProvisionInput } from './extraction.registers.ts';
export { traceFile, readLeakedFile } from './extraction.trace.ts';
export { extractionRoutes } from './extraction.routes.ts';
