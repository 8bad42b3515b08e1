export { notify, securityCenter, listNotifications, unreadCount, markRead, type NotificationMessage } from './notifications.service.ts';
export { renderNotification, type NotificationParams } from './notifications.render.ts';
export { notificationsRoutes } from './notifications.routes.ts';
