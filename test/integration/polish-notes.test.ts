import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHANNEL_ID, type Harness, SIGNING_SECRET, startHarness } from '../support/bridge-harness.js';
import { chatDriver } from '../support/chat-driver.js';
import { dialects } from '../support/databases.js';
import {
  blockActionsPayload,
  interactivity,
  postSlack,
  slashCommand,
  viewSubmissionPayload,
} from '../support/slack-requests.js';
import { waitFor } from '../support/wait-for.js';

/**
 * Issue #19 item 4: the note modal's input stops at 30 characters (`max_length`); `/wa note` and the
 * modal change the same stored note, the conversation's; when the customer talks to several of our
 * sending numbers, both say which one, and `/wa note <number> from <sending number> <text>` chooses.
 */
const cases = await dialects();
const SALES = '1906385232743452';

type StoredView = { id: string; view: { callback_id?: string; private_metadata?: string; blocks?: unknown[] } };
type InputBlock = { type: string; block_id?: string; element?: { max_length?: number; initial_value?: string } };

for (const dialect of cases) {
  describe.runIf(dialect.available)(`notes from the command and the modal on ${dialect.name}`, () => {
    let h: Harness;
    let chat: ReturnType<typeof chatDriver>;
    beforeAll(async () => {
      h = await startHarness({ database: await dialect.create() });
      chat = chatDriver(h);
    });
    afterAll(async () => {
      await h?.stop();
    });

    const command = async (text: string) => {
      const response = await postSlack(h.url, slashCommand(SIGNING_SECRET, { text }));
      expect(response.status).toBe(200);
      return (response.json as { text?: string } | null)?.text ?? '';
    };
    /** The customer's conversations: sending number id → note. */
    const notes = async (phone: string) =>
      Object.fromEntries(
        (
          await h.app.database.db
            .selectFrom('contact')
            .select(['sending_number_id', 'note'])
            .where('phone_number', '=', phone)
            .execute()
        ).map((c) => [c.sending_number_id, c.note]),
      );
    const contactId = async (phone: string, sendingNumberId: string) =>
      (
        await h.app.database.db
          .selectFrom('contact')
          .select('id')
          .where('phone_number', '=', phone)
          .where('sending_number_id', '=', sendingNumberId)
          .executeTakeFirstOrThrow()
      ).id;

    /** Clicks the thread header's note button for this conversation; resolves with the modal it opened. */
    async function openNoteModal(id: string): Promise<StoredView> {
      const header = await waitFor('the conversation header', () =>
        h.slack.rootMessages(CHANNEL_ID).find((m) => JSON.stringify(m.blocks).includes(id)),
      );
      const before = new Set(h.slack.views.keys());
      const click = await postSlack(
        h.url,
        interactivity(
          SIGNING_SECRET,
          blockActionsPayload({
            actionId: 'wa_note_edit',
            value: id,
            message: { channelId: CHANNEL_ID, ts: header.ts },
          }),
        ),
      );
      expect(click.status).toBe(200);
      return waitFor('the note modal', () =>
        [...(h.slack.views.values() as Iterable<StoredView>)].find(
          (v) => !before.has(v.id) && v.view.callback_id === 'wa_note_modal',
        ),
      );
    }
    const noteInput = (modal: StoredView) =>
      ((modal.view.blocks ?? []) as InputBlock[]).find((b) => b.block_id === 'note');
    const submitNote = (modal: StoredView, text: string) =>
      postSlack(
        h.url,
        interactivity(
          SIGNING_SECRET,
          viewSubmissionPayload({
            viewId: modal.id,
            callbackId: 'wa_note_modal',
            privateMetadata: modal.view.private_metadata ?? '',
            values: { note: { value: { type: 'plain_text_input', value: text } } },
          }),
        ),
      );

    it('caps the modal input at 30 characters and edits the note the command shows', async () => {
      await chat.metaContactWrites('hi', { from: '447911151001', name: 'Ines' });
      expect(await command('note +44 7911 151001 Gold customer')).toBe('Note on +447911151001 set to “Gold customer”.');
      const modal = await openNoteModal(await contactId('+447911151001', '1906385232743451'));
      expect(noteInput(modal)?.element).toMatchObject({ max_length: 30, initial_value: 'Gold customer' });
      // One conversation: the modal does not talk about sending numbers.
      expect(JSON.stringify(modal.view.blocks)).not.toContain('with +1555');
      expect((await submitNote(modal, 'Prefers email')).status).toBe(200);
      expect(await notes('+447911151001')).toEqual({ '1906385232743451': 'Prefers email' });
      expect(await command('note +447911151001')).toMatch(/^Note on \+447911151001: “Prefers email”\./);
      // A note that starts with "from" and a few digits is a note, not a sending number.
      expect(await command('note +447911151001 from 9 to 5')).toBe('Note on +447911151001 set to “from 9 to 5”.');
    });

    it('says which sending number when the customer talks to several, and lets the command choose', async () => {
      const phone = '+447911151002';
      await chat.metaContactWrites('hello sales', { from: '447911151002', name: 'Tom', phoneNumberId: SALES });
      await chat.metaContactWrites('hello support', { from: '447911151002', name: 'Tom' });
      // Without `from`: both conversations, named.
      expect(await command(`note ${phone} VIP`)).toBe(
        `Note on ${phone} set to “VIP” in its 2 conversations (with +15550001111 and +15550002222). For one only: \`/wa note ${phone} from <sending number> <text>\`.`,
      );
      expect(await notes(phone)).toEqual({ '1906385232743451': 'VIP', [SALES]: 'VIP' });
      // With `from` (grouped digits, as people type it): that conversation only.
      expect(await command(`note ${phone} from +1 555 000 2222 Calls after 6`)).toBe(
        `Note on ${phone} (with +15550002222) set to “Calls after 6”.`,
      );
      expect(await notes(phone)).toEqual({ '1906385232743451': 'VIP', [SALES]: 'Calls after 6' });
      expect(await command(`note ${phone} from +15550009999 x`)).toBe(
        `:warning: ${phone} has no conversation with +15550009999, only with +15550001111 and +15550002222.`,
      );

      // The modal on the sales conversation's thread names the number and edits the same note.
      const modal = await openNoteModal(await contactId(phone, SALES));
      expect(JSON.stringify(modal.view.blocks)).toContain(`${phone} · with +15550002222`);
      expect(noteInput(modal)?.element).toMatchObject({ max_length: 30, initial_value: 'Calls after 6' });
      expect((await submitNote(modal, 'Wants a callback')).status).toBe(200);
      expect(await notes(phone)).toEqual({ '1906385232743451': 'VIP', [SALES]: 'Wants a callback' });
      expect(await command(`note ${phone}`)).toMatch(
        /^Notes on \+447911151002: with \+15550001111: “VIP”; with \+15550002222: “Wants a callback”\./,
      );
      expect(await command(`note ${phone} from +15550002222 --clear`)).toBe(
        `Note on ${phone} (with +15550002222) cleared.`,
      );
      expect(await notes(phone)).toEqual({ '1906385232743451': 'VIP', [SALES]: null });
      // A note that starts with digits, after a sending number typed in groups.
      expect(await command(`note ${phone} from +1 555 000 2222 2 kids`)).toBe(
        `Note on ${phone} (with +15550002222) set to “2 kids”.`,
      );
    });
  });
}
