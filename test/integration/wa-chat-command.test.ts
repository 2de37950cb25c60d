import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHANNEL_ID, type Harness, SIGNING_SECRET, startHarness } from '../support/bridge-harness.js';
import { dialects } from '../support/databases.js';
import { DEFAULT_PHONE_NUMBERS } from '../support/fake-meta-graph.js';
import { postSlack, slashCommand } from '../support/slack-requests.js';
import { waitFor } from '../support/wait-for.js';

/**
 * `/wa chat <number> [from <sending number>]`: numbers are validated as international numbers
 * (libphonenumber-js); anything else gets a clear error and opens nothing.
 */

const USAGE = 'Usage: `/wa chat <number> [from <sending number>]`, e.g. `/wa chat +44 7700 900123`.';
const cases = await dialects();

for (const dialect of cases) {
  describe.runIf(dialect.available)(`/wa chat on ${dialect.name} (Meta)`, () => {
    let h: Harness;
    beforeAll(async () => {
      h = await startHarness({ database: await dialect.create() });
      await waitFor('sending numbers listed', async () => {
        const rows = await h.app.database.db.selectFrom('sending_number').select('id').execute();
        return rows.length === DEFAULT_PHONE_NUMBERS.length;
      });
    });
    afterAll(async () => {
      await h?.stop();
    });

    async function waChat(text: string): Promise<string> {
      const response = await postSlack(h.url, slashCommand(SIGNING_SECRET, { text: `chat ${text}` }));
      expect(response.status).toBe(200);
      const body = response.json as { response_type: string; text: string };
      expect(body.response_type).toBe('ephemeral');
      return body.text;
    }
    const contactCount = async () =>
      Number(
        (
          await h.app.database.db
            .selectFrom('contact')
            .select((eb) => eb.fn.countAll().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );

    it.each([
      ['letters', 'call-me-maybe', 'only digits, spaces, dashes, dots, parentheses and a leading + are allowed'],
      ['a Slack broadcast', '<!channel>', 'only digits, spaces, dashes, dots, parentheses and a leading + are allowed'],
      [
        'a digit string with a command',
        '+447911123456; rm -rf /',
        'only digits, spaces, dashes, dots, parentheses and a leading + are allowed',
      ],
      ['a number without its country code', '07911123456', 'include the country code, e.g. +44 7700 900123'],
      ['too few digits', '+12345', 'an international number has 6 to 15 digits after the +'],
      ['too many digits', '+4479111234567890', 'an international number has 6 to 15 digits after the +'],
      ['an input longer than 40 characters', `+44${'1'.repeat(45)}`, 'the input is longer than 40 characters'],
      ['a number invalid for its country code', '+1 555 0100', 'this is not a valid phone number for its country code'],
    ])('refuses %s with a clear error and opens nothing', async (_what, input, reason) => {
      const before = { contacts: await contactCount(), roots: h.slack.rootMessages(CHANNEL_ID).length };
      const reply = await waChat(input);
      expect(reply).toBe(`:warning: \`${input.slice(0, 40)}\` is not a valid number: ${reason}\n${USAGE}`);
      await h.settle();
      expect(await contactCount()).toBe(before.contacts);
      expect(h.slack.rootMessages(CHANNEL_ID)).toHaveLength(before.roots);
    });

    it('answers the usage when no number is given', async () => {
      const response = await postSlack(h.url, slashCommand(SIGNING_SECRET, { text: 'chat' }));
      expect((response.json as { text: string }).text).toBe(USAGE);
    });

    it('accepts the usual ways of writing an international number', async () => {
      for (const input of ['+44 7911 123457', '0044 7911-123457', '+44.7911.123457', '+44 (7911) 123457']) {
        expect(await waChat(input)).toMatch(
          /^<https:\/\/acme\.slack\.com\/archives\/.+\|Open the conversation thread>\./,
        );
      }
      const contacts = await h.app.database.db
        .selectFrom('contact')
        .select('phone_number')
        .where('phone_number', '=', '+447911123457')
        .execute();
      expect(contacts).toHaveLength(1);
    });

    it('opens the conversation from the sending number given after "from", however it is written', async () => {
      const reply = await waChat('+44 7911 123458 from +1 (555) 000-2222');
      expect(reply).toMatch(/Open the conversation thread>\. Added to My Sessions\.$/);
      const contact = await h.app.database.db
        .selectFrom('contact')
        .selectAll()
        .where('phone_number', '=', '+447911123458')
        .executeTakeFirstOrThrow();
      expect(contact.sending_number_id).toBe(DEFAULT_PHONE_NUMBERS[1]?.id);
      const thread = await h.app.database.db
        .selectFrom('slack_thread')
        .selectAll()
        .where('contact_id', '=', contact.id)
        .executeTakeFirstOrThrow();
      const header = h.slack.rootMessages(CHANNEL_ID).find((m) => m.ts === thread.thread_ts);
      expect(JSON.stringify(header?.blocks)).toContain('+15550002222');

      // The same number from the other sending number is another conversation.
      await waChat('+447911123458 from +15550001111');
      const both = await h.app.database.db
        .selectFrom('contact')
        .select('sending_number_id')
        .where('phone_number', '=', '+447911123458')
        .orderBy('sending_number_id')
        .execute();
      expect(both.map((c) => c.sending_number_id)).toEqual([
        DEFAULT_PHONE_NUMBERS[0]?.id,
        DEFAULT_PHONE_NUMBERS[1]?.id,
      ]);
    });

    it('refuses a "from" number that is not one of ours, naming the ones there are', async () => {
      const before = await contactCount();
      expect(await waChat('+447911123459 from +15559999999')).toBe(
        `:warning: \`+15559999999\` is not one of your sending numbers (+15550001111, +15550002222).\n${USAGE}`,
      );
      expect(await contactCount()).toBe(before);
    });
  });
}
