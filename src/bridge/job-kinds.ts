/** Kinds of durable jobs; the payload of each is validated by its handler. */
export const JobKind = {
  inboundMessage: 'whatsapp.inbound_message',
  deliveryStatus: 'whatsapp.delivery_status',
  agentReply: 'slack.agent_reply',
  agentReaction: 'slack.agent_reaction',
  templateSend: 'whatsapp.template_send',
  campaignPrepare: 'campaign.prepare',
  headerRefresh: 'slack.header_refresh',
  inboxUpdate: 'slack.inbox_update',
  accountHealth: 'whatsapp.account_health',
  campaignTestSend: 'campaign.test_send',
} as const;
