import type { ConversationThreads } from './conversation-threads.js';
import { parseInternationalNumber } from './phone-number.js';
import type { ConversationRepository } from './ports.js';
import type { SendingNumberRecord, SlackThreadRecord } from './records.js';

export type OpenConversationResult =
  | { ok: true; thread: SlackThreadRecord; contactId: string; session: 'added' | 'already' | 'limit_reached' }
  | { ok: false; error: string };

/**
 * `/wa chat <number> [from <sending number>]`: finds or starts the conversation thread with a
 * number — also one that never wrote — and adds it to the caller's My Sessions.
 */
export function createOpenConversation(deps: {
  conversations: ConversationRepository;
  threads: ConversationThreads;
  sendingNumbers: () => Promise<SendingNumberRecord[]>;
  addSession: (userId: string, contactId: string) => Promise<'added' | 'already' | 'limit_reached'>;
  now: () => number;
}) {
  return async (input: { userId: string; number: string; from: string | null }): Promise<OpenConversationResult> => {
    const parsed = parseInternationalNumber(input.number);
    if (!parsed.ok)
      return { ok: false, error: `\`${input.number.slice(0, 40)}\` is not a valid number: ${parsed.reason}` };
    const numbers = await deps.sendingNumbers();
    let sending: SendingNumberRecord | undefined;
    if (input.from) {
      // Our own sending numbers are matched by digits: they are known, not validated.
      const digits = input.from.replace(/[^\d]/g, '');
      sending = numbers.find((n) => n.phone_number === `+${digits}`);
      if (!sending) {
        const known = numbers.map((n) => n.phone_number).join(', ') || 'none configured';
        return { ok: false, error: `\`${input.from.slice(0, 40)}\` is not one of your sending numbers (${known}).` };
      }
    } else {
      const usable = numbers.filter((n) => n.health === 'connected');
      if (usable.length > 1) {
        return {
          ok: false,
          error: `Several sending numbers are available; say which one: \`/wa chat ${parsed.e164} from ${usable[0]?.phone_number}\` (choices: ${usable.map((n) => n.phone_number).join(', ')}).`,
        };
      }
      sending = usable[0] ?? numbers[0];
      if (!sending)
        return { ok: false, error: 'No sending number is available yet: check the WhatsApp provider settings.' };
    }
    const contact = await deps.conversations.upsertContact(
      { sendingNumberId: sending.id, phoneNumber: parsed.e164, userId: null },
      deps.now(),
    );
    const thread = await deps.threads.ensureThreadWaiting(contact);
    const session = await deps.addSession(input.userId, contact.id);
    return { ok: true, thread, contactId: contact.id, session };
  };
}
