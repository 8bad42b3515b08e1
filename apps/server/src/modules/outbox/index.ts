export { enqueueMail, enqueueWebhook, isMailAddress, deliverDue, outboxHandlers, readOutboxStatus, outboxStatus, backoffMs, MAX_ATTEMPTS, type DeliveryReport } from './outbox.service.ts';
export { outboxRoutes } from './outbox.routes.ts';
export { registerOutboxMetrics } from './outbox.metrics.ts';
export { outboxRepository } from './outbox.repository.ts';
export { PermanentDeliveryError, type MailInput, type OutboxHandler, type OutboxStatus, type ClaimedRow, type WebhookPayload } from './outbox.types.ts';
export { createMailTransport, describeDeliveryError } from './outbox.mail.ts';
