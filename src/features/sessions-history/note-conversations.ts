import type { ContactRecord } from '../../bridge/records.js';
import type { ConversationStore } from '../../db/stores/conversation-store.js';

/** A customer's conversations (one per sending number of ours), each with its note and our number. */
export async function conversationsOfNumber(conversations: ConversationStore, e164: string) {
  const [contacts, numbers] = await Promise.all([
    conversations.contactsByPhone(e164),
    conversations.listSendingNumbers(),
  ]);
  const phoneOf = new Map(numbers.map((n) => [n.id, n.phone_number]));
  return contacts
    .map((c) => ({
      id: c.id,
      note: c.note,
      sendingNumberPhone: phoneOf.get(c.sending_number_id) ?? null,
    }))
    .sort((a, b) => (a.sendingNumberPhone ?? '').localeCompare(b.sendingNumberPhone ?? ''));
}

/** Our sending number in this conversation, when the customer has conversations with several (else null). */
export async function sendingNumberToName(conversations: ConversationStore, contact: ContactRecord) {
  if (!contact.phone_number) return null;
  const all = await conversations.contactsByPhone(contact.phone_number);
  if (all.length < 2) return null;
  return (await conversations.sendingNumber(contact.sending_number_id))?.phone_number ?? contact.sending_number_id;
}
