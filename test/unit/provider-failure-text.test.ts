import { describe, expect, it } from 'vitest';
import { providerFailureForAgent } from '../../src/bridge/provider-failure-text.js';
import { classifyMetaErrorCode, ProviderError } from '../../src/whatsapp/provider-errors.js';

/** Meta's error as the adapter raises it: classified from its code, its own words in the message. */
const meta = (code: number, options: { mayHaveBeenSent?: boolean } = {}) =>
  new ProviderError(classifyMetaErrorCode(code), `sending a message failed: (#${code}) words from Meta <x>`, {
    providerCode: code,
    ...options,
  });

describe('what an agent is told when WhatsApp does not take a reply', () => {
  it.each([
    [131047, 'Not sent: the 24-hour customer-service window is closed.', 'Send a template instead'],
    [131026, 'Not sent: WhatsApp could not deliver it to this number', 'Check the number with the customer'],
    [130429, "Not sent: WhatsApp's sending limit for this number was reached.", 'Wait a few minutes'],
    [131056, 'Not sent: too many messages went to this customer in a short time.', 'Wait a few minutes'],
    [131051, 'Not sent: WhatsApp does not accept this type of message.', 'Send it as text'],
    [131053, 'Not sent: WhatsApp could not take the file (its type or its size).', 'another format or smaller'],
    [100, 'Not sent: WhatsApp did not accept it.', 'give whoever runs the bridge this error id'],
    [999999, 'Not sent: WhatsApp did not accept it.', 'give whoever runs the bridge this error id'],
  ])('%i: a plain sentence and what to do next, never WhatsApp words or codes', (code, failed, next) => {
    const told = providerFailureForAgent(meta(code));
    expect(told.failed.startsWith(failed)).toBe(true);
    expect(told.next).toContain(next);
    const text = `${told.failed} ${told.next}`;
    expect(text).not.toContain('words from Meta');
    expect(text).not.toContain(String(code));
  });

  it('does not say "not sent" when the request may have reached WhatsApp', () => {
    const told = providerFailureForAgent(meta(100, { mayHaveBeenSent: true }));
    expect(told.failed).toContain('may or may not have reached the customer');
    expect(told.failed).not.toContain('Not sent');
    expect(told.next).toContain('Check with the customer before sending it again');
  });
});
