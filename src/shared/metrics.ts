import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Everything the operator watches, in Prometheus format at GET /metrics. */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'bridge_' });
  return {
    registry,
    webhooks: new Counter({
      name: 'bridge_webhooks_total',
      help: 'Provider webhooks by outcome',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    webhookAckSeconds: new Histogram({
      name: 'bridge_webhook_ack_seconds',
      help: 'Time from receiving a webhook to acknowledging it (after it is stored)',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: 'bridge_queue_depth',
      help: 'Pending and running jobs by kind',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    queueOldestSeconds: new Gauge({
      name: 'bridge_queue_oldest_seconds',
      help: 'Age of the oldest due job by kind',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    sends: new Counter({
      name: 'bridge_whatsapp_sends_total',
      help: 'WhatsApp send requests by result',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    statuses: new Counter({
      name: 'bridge_whatsapp_statuses_total',
      help: 'Delivery statuses received',
      labelNames: ['status'] as const,
      registers: [registry],
    }),
    providerErrors: new Counter({
      name: 'bridge_provider_errors_total',
      help: 'Provider errors by code',
      labelNames: ['code'] as const,
      registers: [registry],
    }),
    slackErrors: new Counter({
      name: 'bridge_slack_errors_total',
      help: 'Slack API errors by kind',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    slackRateLimited: new Counter({
      name: 'bridge_slack_rate_limited_total',
      help: 'Slack 429 responses',
      registers: [registry],
    }),
    jobsFailed: new Counter({
      name: 'bridge_jobs_given_up_total',
      help: 'Jobs that failed permanently',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
    campaignRecipients: new Gauge({
      name: 'bridge_campaign_recipients',
      help: 'Recipients of active campaigns by status',
      labelNames: ['campaign', 'status'] as const,
      registers: [registry],
    }),
  };
}
export type Metrics = ReturnType<typeof createMetrics>;
