import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, SIGNING_SECRET, startHarness } from '../support/bridge-harness.js';
import { launchHelloWorld, recipientsFile } from '../support/campaign-driver.js';
import { chatDriver } from '../support/chat-driver.js';
import { quickReplyDriver } from '../support/quick-reply-driver.js';
import { interactivity, postSlack, viewSubmissionPayload } from '../support/slack-requests.js';
import { waitFor } from '../support/wait-for.js';

/**
 * Issue #19 item 6 where things are sent: an agent's reply WhatsApp did not take (or answered in a
 * shape the bridge cannot read), a quick reply that could not be posted in its thread, and a campaign
 * whose messages could not be built. What people see in Slack is a plain sentence, what to do next
 * and an error id; the same id is on a log line that has the real error; no exception or WhatsApp
 * wording reaches them. Everything goes through signed Slack requests and the fake Graph API.
 */
describe('errors people see when sending', () => {
  let h: Harness;
  let chat: ReturnType<typeof chatDriver>;
  beforeAll(async () => {
    // Short job backoff: the quick reply's post is retried to its last attempt in a moment.
    h = await startHarness({ jobBackoffMs: { base: 5, max: 20 } });
    chat = chatDriver(h);
    h.slack.addUser({ id: 'UAGENT1', name: 'agent1', realName: 'Agent One', displayName: 'Agent One' });
  });
  afterAll(async () => {
    await h?.stop();
  });

  /** The error id quoted in a text, and the one log line with it (parsed). */
  function loggedUnder(text: string) {
    const errorId = /\(error id `(E-[0-9A-F]{8})`\)/.exec(text)?.[1];
    expect(errorId, `an error id in: ${text}`).toBeDefined();
    const lines = h.logs.filter((l) => l.includes(`"errorId":"${errorId}"`));
    expect(lines.length, `a log line with ${errorId}`).toBeGreaterThan(0);
    return {
      errorId: errorId as string,
      lines: lines.map((l) => JSON.parse(l) as { level: number; msg: string; err?: unknown; [key: string]: unknown }),
    };
  }

  /** What must never reach a person: exception names, HTTP wording, WhatsApp's API text. */
  const RAW = /Error\b|HTTP|statusCode|stack|Unexpected|JSON|undefined|\(#\d+\)|That did not work/;

  it.each([
    {
      what: '131026 (undeliverable)',
      from: '447700950001',
      failure: {
        status: 400,
        body: {
          error: {
            message: '(#131026) Message undeliverable',
            code: 131026,
            error_data: { details: 'Message Undeliverable: recipient <unknown> at 0x7f' },
          },
        },
      },
      shown:
        'Not sent: WhatsApp could not deliver it to this number (it may not be on WhatsApp, or may have blocked your business). Check the number with the customer some other way.',
      raw: 'Message Undeliverable: recipient <unknown> at 0x7f',
    },
    {
      what: '131051 (unsupported type)',
      from: '447700950002',
      failure: {
        status: 400,
        body: { error: { message: 'Unsupported message type', code: 131051, error_data: { details: 'type=foo' } } },
      },
      shown:
        'Not sent: WhatsApp does not accept this type of message. Send it as text, or the file in another format; if it fails again, give whoever runs the bridge this error id.',
      raw: 'type=foo',
    },
    {
      what: 'an unknown code',
      from: '447700950003',
      failure: {
        status: 400,
        body: {
          error: { message: 'Invalid parameter', code: 100, error_data: { details: 'Param text[body] is bad' } },
        },
      },
      shown:
        'Not sent: WhatsApp did not accept it. Send it again in a minute; if it fails again, give whoever runs the bridge this error id.',
      raw: 'Param text[body] is bad',
    },
    {
      what: 'an answer in an unexpected shape (HTTP 200 without a message id)',
      from: '447700950004',
      failure: { status: 200, body: { messaging_product: 'whatsapp', unexpected: true } },
      shown:
        "WhatsApp's answer could not be read, so this reply may or may not have reached the customer. Check with the customer before sending it again; if it fails again, give whoever runs the bridge this error id.",
      raw: 'Meta accepted the message but returned no message id',
    },
  ])(
    'tells the agent a reply WhatsApp refused with $what in plain words, with an error id on the log line',
    async ({ from, failure, shown, raw }) => {
      const { threadTs } = await chat.metaContactWrites('hello', { from });
      h.meta?.failNextSends(1, failure);
      const ts = await chat.agentWrites({ threadTs, text: 'Here is your answer' });
      const row = await chat.replyRow(ts, ['failed']);
      const notice = await waitFor('the notice to the agent', () =>
        chat.ephemerals(threadTs).find((text) => text.includes('error id')),
      );
      expect(notice).toMatch(new RegExp(`^:warning: ${literal(shown)} \\(error id \`E-[0-9A-F]{8}\`\\)$`));
      expect(notice).not.toContain(raw.slice(0, 20));
      expect(notice).not.toMatch(RAW);
      expect(notice).not.toMatch(/1310\d\d|\b100\b/);
      const { errorId, lines } = loggedUnder(notice);
      // WhatsApp's own words are kept where whoever runs the bridge looks: the log line and the history.
      expect(JSON.stringify(lines)).toContain(raw);
      expect(row.error_detail).toContain(raw);
      expect(row.error_detail).toContain(errorId);
    },
  );

  it('tells the agent when WhatsApp refuses a reply outside the window (131047) with the template offer and an error id', async () => {
    const from = '447700950005';
    const { threadTs } = await chat.metaContactWrites('hello', { from });
    h.meta?.failNextSends(1, {
      status: 400,
      body: {
        error: { message: 'Re-engagement message', code: 131047, error_data: { details: 'more than 24 hours' } },
      },
    });
    const ts = await chat.agentWrites({ threadTs, text: 'Late reply' });
    const row = await chat.replyRow(ts, ['failed']);
    const call = await waitFor('the notice', () =>
      h.slack.callsTo('chat.postEphemeral').find((c) => c.body.thread_ts === threadTs),
    );
    const notice = String(call.body.text);
    expect(notice).toMatch(/^:no_entry: Not sent: the 24-hour customer-service window is closed\./);
    expect(JSON.stringify(call.body.blocks)).toContain('wa_template_open');
    expect(notice).not.toContain('Re-engagement');
    expect(notice).not.toMatch(RAW);
    const { lines } = loggedUnder(notice);
    expect(JSON.stringify(lines)).toContain('more than 24 hours');
    expect(row.error_detail).toContain('more than 24 hours');
  });

  it('tells the agent a reply hit an unexpected error after WhatsApp took it, with an error id, and never sends it twice', async () => {
    const from = '447700950007';
    const { threadTs } = await chat.metaContactWrites('hello', { from });
    // The database refuses to record WhatsApp's message id for this reply: not a WhatsApp error, and
    // the reply has already gone out, so the bridge must neither resend it nor claim it was not sent.
    await sql`
      create trigger refuse_recording_sent before update of provider_message_id on message
      when new.body = 'Reply the bridge cannot record'
      begin select raise(abort, 'simulated: disk I/O error'); end
    `.execute(h.app.database.db);
    try {
      const sendsBefore = h.meta?.accepted().length ?? 0;
      const ts = await chat.agentWrites({ threadTs, text: 'Reply the bridge cannot record' });
      const row = await chat.replyRow(ts, ['failed']);
      const notice = await waitFor('the notice to the agent', () =>
        chat.ephemerals(threadTs).find((text) => text.includes('unexpected error')),
      );
      expect(notice).toMatch(
        /^:warning: The bridge hit an unexpected error while sending this reply, so it may or may not have reached the customer\. It was not sent again automatically, to avoid a duplicate; check with the customer before resending, and if it happens again give whoever runs the bridge this error id\. \(error id `E-[0-9A-F]{8}`\)$/,
      );
      expect(notice).not.toMatch(RAW);
      expect(notice).not.toContain('simulated');
      const { errorId, lines } = loggedUnder(notice);
      expect(lines[0]).toMatchObject({ level: 50, msg: 'sending a reply failed unexpectedly; not sent again' });
      expect(JSON.stringify(lines[0]?.err)).toContain('simulated: disk I/O error');
      expect(row).toMatchObject({ error_code: 'uncertain' });
      expect(row.error_detail).toContain(errorId);
      await h.settle();
      const sent = (h.meta?.accepted() ?? []).slice(sendsBefore).filter((b) => b.to === from);
      expect(sent).toHaveLength(1);
    } finally {
      await sql`drop trigger refuse_recording_sent`.execute(h.app.database.db);
    }
  });

  it('tells the agent a quick reply could not be posted in the thread, with an error id on the log line', async () => {
    const qr = quickReplyDriver(h);
    const opened = await qr.openList();
    if (!opened.list) throw new Error(`/wa replies opened no modal: ${opened.answer}`);
    expect((await qr.save(opened.list, { title: 'Thanks', body: 'Thank you, {{customer_name}}!' })).answer).toBeNull();
    const reply = (await qr.replies()).find((r) => r.title === 'Thanks');
    if (!reply) throw new Error('not stored');
    const { threadTs } = await chat.metaContactWrites('hi', { from: '447700950006', name: 'Ida' });
    const contact = await chat.contact('+447700950006');
    const chosen = await qr.choose(await qr.openPicker(threadTs, contact.id), reply.id);
    await h.settle();
    const sendsBefore = h.meta?.accepted().length ?? 0;
    // Slack fails every post (HTTP 500) until the job's last attempt.
    h.slack.failWith('chat.postMessage', { status: 500, count: 1000 });
    try {
      expect(await qr.send(chosen, reply.id)).toBeNull();
      const notice = await waitFor(
        'the notice to the agent',
        () => chat.ephemerals(threadTs).find((text) => text.includes('error id')),
        20_000,
      );
      expect(notice).toMatch(
        /^:warning: Your quick reply could not be posted in the thread, so it was not sent\. Send it again in a minute; if it fails again, give whoever runs the bridge this error id\. \(error id `E-[0-9A-F]{8}`\)$/,
      );
      expect(notice).not.toMatch(RAW);
      expect(notice).not.toMatch(/500|internal_error|fatal_error/);
      const { lines } = loggedUnder(notice);
      expect(lines[0]).toMatchObject({ level: 50, msg: 'a quick reply could not be posted in its thread; not sent' });
      expect(JSON.stringify(lines[0]?.err)).toMatch(/500/);
    } finally {
      h.slack.clearFaults();
    }
    await h.settle();
    expect((h.meta?.accepted() ?? []).slice(sendsBefore)).toEqual([]);
    const [row] = await h.app.database.db
      .selectFrom('message')
      .selectAll()
      .where('contact_id', '=', contact.id)
      .where('direction', '=', 'outbound')
      .execute();
    expect(row).toMatchObject({ status: 'failed', error_code: 'not_posted', provider_message_id: null });
  });

  it("shows a campaign's messages that could not be built as one reason with one error id, on the log lines", async () => {
    const { campaignId } = await launchHelloWorld({
      appUrl: h.url,
      slack: h.slack,
      recipientsFile: recipientsFile(3, 400000),
      confirm: false,
    });
    // Whatever breaks the building of a message (here: its stored values, unreadable).
    await h.app.database.db
      .updateTable('campaign_recipient')
      .set({ parameters_json: '{"body.1": ' })
      .where('campaign_id', '=', campaignId)
      .execute();
    const form = [...h.slack.views.values()].find((v) =>
      String((v.view as { private_metadata?: string }).private_metadata).includes(campaignId),
    );
    if (!form) throw new Error('no confirmation view');
    const confirmed = await postSlack(
      h.url,
      interactivity(
        SIGNING_SECRET,
        viewSubmissionPayload({
          userId: 'UMARKETER',
          viewId: form.id,
          callbackId: 'wa_campaign_confirm',
          privateMetadata: (form.view as { private_metadata: string }).private_metadata,
          values: {},
        }),
      ),
    );
    expect(confirmed.status).toBe(200);
    // The progress message's lines (its blocks' mrkdwn), once it lists the three failures.
    const line = await waitFor(
      'the progress message with the failures',
      () =>
        h.slack
          .messages('C0MARKETING')
          .flatMap((m) => textsOf(m.blocks))
          .flatMap((text) => text.split('\n'))
          .find((text) => text.startsWith('• 3 × '))
          ?.slice('• 3 × '.length),
      20_000,
    );
    expect(line).toMatch(
      /^the message could not be built from the template and its values, so it was not sent; give whoever runs the bridge this error id \(error id `E-[0-9A-F]{8}`\)/,
    );
    expect(line).not.toMatch(RAW);
    const { lines } = loggedUnder(line);
    // One log line per recipient, all under the one id, each with the real error.
    expect(lines).toHaveLength(3);
    for (const logged of lines) {
      expect(logged).toMatchObject({ level: 50, msg: 'preparing a campaign message failed', campaignId });
      expect(JSON.stringify(logged.err)).toMatch(/JSON/);
    }
    expect(h.meta?.sent().filter((b) => b.type === 'template')).toEqual([]);
  });
});

/** The mrkdwn of a message's sections and context elements. */
function textsOf(blocks: unknown): string[] {
  const list = (Array.isArray(blocks) ? blocks : []) as {
    text?: { text?: unknown };
    elements?: { text?: unknown }[];
  }[];
  return list
    .flatMap((b) => [b.text?.text, ...(b.elements ?? []).map((e) => e.text)])
    .filter((text): text is string => typeof text === 'string');
}

/** A literal string as a regular expression. */
function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
