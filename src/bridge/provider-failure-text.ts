import type { ProviderError } from '../whatsapp/provider-errors.js';

/**
 * What an agent is told when WhatsApp did not take their reply: a plain sentence chosen from the
 * provider's error code, and what to do next. Never WhatsApp's own wording (it is English API text,
 * sometimes a stack of codes); that goes to the log line and the history's error detail.
 */
export function providerFailureForAgent(error: ProviderError): { failed: string; next: string } {
  const again = 'if it fails again, give whoever runs the bridge this error id.';
  if (error.mayHaveBeenSent)
    return {
      failed: "WhatsApp's answer could not be read, so this reply may or may not have reached the customer.",
      next: `Check with the customer before sending it again; ${again}`,
    };
  if (error.providerCode === '131051')
    return {
      failed: 'Not sent: WhatsApp does not accept this type of message.',
      next: `Send it as text, or the file in another format; ${again}`,
    };
  switch (error.code) {
    case 'window_closed':
      return {
        failed: 'Not sent: the 24-hour customer-service window is closed.',
        next: 'Send a template instead; a free-form reply goes again once the customer writes.',
      };
    case 'undeliverable':
      return {
        failed:
          'Not sent: WhatsApp could not deliver it to this number (it may not be on WhatsApp, or may have blocked your business).',
        next: 'Check the number with the customer some other way.',
      };
    case 'rate_limited':
      return {
        failed: "Not sent: WhatsApp's sending limit for this number was reached.",
        next: `Wait a few minutes, then send it again; ${again}`,
      };
    case 'pair_rate_limited':
      return {
        failed: 'Not sent: too many messages went to this customer in a short time.',
        next: 'Wait a few minutes, then send it again.',
      };
    case 'media_error':
      return {
        failed: 'Not sent: WhatsApp could not take the file (its type or its size).',
        next: `Share it in another format or smaller; ${again}`,
      };
    default:
      return {
        failed: 'Not sent: WhatsApp did not accept it.',
        next: `Send it again in a minute; ${again}`,
      };
  }
}
