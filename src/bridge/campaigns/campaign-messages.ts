import type { MessageTemplate, OutboundMessage, TemplateParameters } from '../../whatsapp/whatsapp-provider.js';
import { renderTemplate, templateParameters } from '../templates.js';
import {
  type CampaignConversationEntry,
  type CampaignParameters,
  type CampaignRecipientRecord,
  type CampaignRecord,
  isApiTriggered,
} from './campaign-ports.js';

/** A claimed recipient with its message built, ready to go out at the next slot of its sending number. */
export type PreparedRecipient = {
  campaign: CampaignRecord;
  recipient: CampaignRecipientRecord;
  message: OutboundMessage;
  conversation: Omit<CampaignConversationEntry, 'messageId' | 'providerMessageId'>;
};

/**
 * Builds campaign recipients' template messages, and the entries that record them in their
 * conversations. A campaign's shared parameters are parsed once and kept until it is forgotten.
 */
export function createCampaignMessages() {
  const parametersOf = new Map<string, CampaignParameters>();

  function sharedParameters(campaign: CampaignRecord): CampaignParameters {
    let parsed = parametersOf.get(campaign.id);
    if (!parsed) {
      try {
        parsed = JSON.parse(campaign.parameters_json) as CampaignParameters;
      } catch {
        parsed = { values: {}, headerMedia: null };
      }
      parametersOf.set(campaign.id, parsed);
    }
    return parsed;
  }

  /** The message of a claimed recipient, built before its slot so the send starts right on time. */
  function prepare(
    campaign: CampaignRecord,
    recipient: CampaignRecipientRecord,
    template: MessageTemplate,
  ): PreparedRecipient {
    const shared = sharedParameters(campaign);
    const values = {
      ...shared.values,
      ...(recipient.parameters_json ? (JSON.parse(recipient.parameters_json) as Record<string, string>) : {}),
    };
    return {
      campaign,
      recipient,
      message: {
        type: 'template',
        to: recipient.phone_number,
        template: {
          name: template.name,
          language: template.language,
          parameters: templateParameters(template, values, templateHeader(shared.headerMedia)),
        },
      },
      conversation: conversationEntry(campaign, recipient, renderTemplate(template, values)),
    };
  }

  return {
    prepare,
    /** Drops a campaign's parsed parameters (it has nothing left to send). */
    forget(campaignId: string): void {
      parametersOf.delete(campaignId);
    },
  };
}

function templateHeader(headerMedia: CampaignParameters['headerMedia']): TemplateParameters['header'] | undefined {
  return headerMedia
    ? {
        type: headerMedia.type,
        media: headerMedia.mediaRef,
        ...(headerMedia.filename ? { filename: headerMedia.filename } : {}),
      }
    : undefined;
}

function conversationEntry(
  campaign: CampaignRecord,
  recipient: CampaignRecipientRecord,
  body: string,
): PreparedRecipient['conversation'] {
  const api = isApiTriggered(campaign);
  return {
    sendingNumberId: campaign.sending_number_id,
    phoneNumber: recipient.phone_number,
    body,
    mediaJson: JSON.stringify({ template: campaign.template_name, language: campaign.template_language }),
    source: api ? 'api' : 'campaign',
    authorSlackUserId: api ? null : campaign.created_by,
    campaignId: campaign.id,
  };
}
