export { compose, submitSmtp, confirm, cancelTransmission, myTransmissions, getTransmission, type TransmissionSettings, type RelaySettings } from './transmissions.service.ts';
export { advanceApprovals, deliverQueued, classifyDeliveryError, relayTransport, MAX_DELIVERY_ATTEMPTS, type DeliveryReport } from './transmissions.delivery.ts';
export { register, registerCsv } from './transmissions.register.ts';
export { getRules, updateRules, loadRules } from './transmissions.settings.ts';
export { runReviews, listReviews, getReview, markItem, reviewCsv } from './transmissions.review.ts';
export { startSubmissionServer, type SubmissionSettings, type SubmissionServer } from './transmissions.smtp.ts';
export { decideRoute, DEFAULT_RULES } from './transmissions.rules.ts';
export { transmissionsRoutes } from './transmissions.routes.ts';
