/** Notification channels: config, routing, payloads, signatures and the HTTP sender. */

export {
  channelSchema,
  webhookChannelSchema,
  alertmanagerChannelSchema,
  routeSchema,
  notificationConfigShape,
  notificationConfigSchema,
  routeChannelIssues,
  type ChannelConfig,
  type WebhookChannelConfig,
  type AlertmanagerChannelConfig,
  type WebhookFormat,
  type RouteConfig,
  type NotificationConfig,
  type NotificationConfigInput,
  type RouteChannelIssue,
} from "./channel-config.ts";
export { compileRoutes, routeChannels, type RoutedAlert } from "./route-channels.ts";
export { maskChannels, maskUrl, MASK } from "./mask-channels.ts";
export {
  plumblinePayload,
  alertmanagerWebhookPayload,
  alertmanagerApiAlerts,
  alertmanagerLabels,
  alertmanagerAnnotations,
  PLUMBLINE_PAYLOAD_VERSION,
  GO_ZERO_TIME,
  type PlumblinePayloadV1,
  type AlertmanagerWebhookPayload,
  type AlertmanagerWebhookAlert,
  type AlertmanagerPostableAlert,
  type PayloadOptions,
} from "./payloads.ts";
export {
  slackPayload,
  SLACK_LIMITS,
  type SlackMessage,
  type SlackBlock,
  type SlackPayloadOptions,
} from "./slack-payload.ts";
export { alertSummary, notificationStatus, type NotificationStatus } from "./alert-text.ts";
export {
  signWebhook,
  webhookSecretProblem,
  WEBHOOK_SECRET_PREFIX,
  type WebhookSignatureHeaders,
} from "./sign.ts";
export {
  classifyHttpStatus,
  parseRetryAfterMs,
  type HttpStatusClass,
} from "./classify-http-status.ts";
export {
  createChannelSender,
  buildChannelRequest,
  alertmanagerAlertsUrl,
  type ChannelSender,
  type ChannelSenderOptions,
  type ChannelRequest,
} from "./transport.ts";
