import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { expect } from 'vitest';
import type { MessageRow } from '../../src/db/database.js';
import {
  CHANNEL_ID,
  ENGAGELAB_CALLBACK_TOKEN,
  type Harness,
  postMetaWebhook,
  SIGNING_SECRET,
} from './bridge-harness.js';
import { inboundWebhook, nextWamid, PHONE_NUMBER_ID } from './meta-webhooks.js';
import { eventCallback, postSlack } from './slack-requests.js';
import { waitFor } from './wait-for.js';

/**
 * Drives a conversation through the app's real entry points only: signed provider webhooks for
 * what the contact does, signed Slack events for what an agent does.
 */

const SAMPLES = resolve(import.meta.dirname, '../fixtures/meta-samples/webhooks');

type MetaSample = {
  entry: {
    changes: {
      value: {
        metadata: { phone_number_id: string };
        contacts?: { wa_id: string }[];
        messages?: Record<string, unknown>[];
      };
    }[];
  }[];
};

/**
 * A real Meta webhook body from test/fixtures/meta-samples, re-addressed: the samples share message
 * ids between files (Meta would never), so each use gets its own id, sender and a current timestamp,
 * and arrives on the harness's sending number (the fake Graph API's first phone number).
 */
export function metaSample(
  file: string,
  options: { from: string; id?: string; phoneNumberId?: string; patch?: (message: Record<string, unknown>) => void },
): { payload: MetaSample; id: string } {
  const payload = JSON.parse(readFileSync(resolve(SAMPLES, file), 'utf8')) as MetaSample;
  const id = options.id ?? nextWamid();
  const value = payload.entry[0]?.changes[0]?.value;
  const message = value?.messages?.[0];
  if (!value || !message) throw new Error(`${file} holds no inbound message`);
  value.metadata.phone_number_id = options.phoneNumberId ?? PHONE_NUMBER_ID;
  for (const contact of value.contacts ?? []) contact.wa_id = options.from;
  message.from = options.from;
  message.id = id;
  message.timestamp = String(Math.floor(Date.now() / 1000));
  options.patch?.(message);
  return { payload, id };
}

let slackTsCounter = 0;
/** A fresh Slack message ts for a message a person posts. */
export const nextSlackTs = () => `1790000000.${String(++slackTsCounter).padStart(6, '0')}`;

export type FileShare = ReturnType<Harness['slack']['addFile']>;

export function chatDriver(h: Harness) {
  const db = h.app.database.db;

  /** The Slack post of an inbound message, in whichever channel (found by the marker the app puts on it). */
  const postOf = (providerMessageId: string) =>
    waitFor(`post of ${providerMessageId}`, () =>
      h.slack.messages().find((m) => m.thread_ts && m.metadata?.event_payload.key === providerMessageId),
    );

  return {
    postOf,

    /** A contact's text through a signed Meta webhook; resolves with the thread it landed in. */
    async metaContactWrites(text: string, options: { from: string; name?: string; phoneNumberId?: string }) {
      const id = nextWamid();
      const payload = inboundWebhook(
        { type: 'text', text: { body: text } },
        { from: options.from, id, ...(options.name ? { name: options.name } : {}) },
      );
      if (options.phoneNumberId) {
        const value = payload.entry[0]?.changes[0]?.value;
        if (value) value.metadata.phone_number_id = options.phoneNumberId;
      }
      expect((await postMetaWebhook(h.url, payload)).status).toBe(200);
      const post = await postOf(id);
      return { threadTs: post.thread_ts as string, channel: post.channel, id };
    },

    /** A contact's message through a signed EngageLab callback; resolves with its thread. */
    async engageLabContactWrites(text: string, options: { from: string; name?: string }) {
      const id = nextWamid();
      const response = await postEngageLabCallback(h.url, [
        engageLabInbound(id, { type: 'text', text: { body: text } }, options),
      ]);
      expect(response.status).toBe(200);
      const post = await postOf(id);
      return { threadTs: post.thread_ts as string, channel: post.channel, id };
    },

    /** An agent's message in a thread, as a signed Slack event; resolves with its ts. */
    async agentWrites(input: {
      threadTs: string;
      text: string;
      user?: string;
      files?: FileShare[];
      blocks?: unknown[];
      channel?: string;
    }): Promise<string> {
      const ts = nextSlackTs();
      const event: Record<string, unknown> = {
        type: 'message',
        channel: input.channel ?? CHANNEL_ID,
        user: input.user ?? 'UAGENT1',
        text: input.text,
        ts,
        thread_ts: input.threadTs,
        ...(input.files ? { subtype: 'file_share', files: input.files } : {}),
        ...(input.blocks ? { blocks: input.blocks } : {}),
      };
      expect((await postSlack(h.url, eventCallback(SIGNING_SECRET, event))).status).toBe(200);
      return ts;
    },

    /**
     * A customer's WhatsApp reaction (Meta's reactMessage.json sample) to the message `to` (a wamid);
     * `emoji` "" is how WhatsApp reports a reaction taken away. Resolves with the reaction's own wamid.
     */
    async metaContactReacts(emoji: string, options: { from: string; to: string }): Promise<string> {
      const sample = metaSample('reactMessage.json', {
        from: options.from,
        patch: (message) => {
          message.reaction = { message_id: options.to, emoji };
        },
      });
      expect((await postMetaWebhook(h.url, sample.payload)).status).toBe(200);
      return sample.id;
    },

    /** A person's reaction added to (or removed from) a Slack message, as a signed Events API request. */
    async agentReacts(input: { ts: string; name: string; removed?: boolean; user?: string; channel?: string }) {
      const type = input.removed ? 'reaction_removed' : 'reaction_added';
      // Slack sends these only to an app subscribed to them with the scope they need.
      expect(h.slack.eventDeliveryProblems(type)).toEqual([]);
      const channel = input.channel ?? CHANNEL_ID;
      const event = {
        type,
        user: input.user ?? 'UAGENT1',
        reaction: input.name,
        item_user: 'UBOT',
        item: { type: 'message', channel, ts: input.ts },
        event_ts: nextSlackTs(),
      };
      expect((await postSlack(h.url, eventCallback(SIGNING_SECRET, event))).status).toBe(200);
    },

    /** The stored row of an agent's Slack message once it reached one of `statuses`. */
    replyRow(ts: string, statuses: MessageRow['status'][] = ['sent'], timeoutMs?: number) {
      return waitFor(
        `reply ${ts} ${statuses.join('/')}`,
        () =>
          db
            .selectFrom('message')
            .selectAll()
            .where('slack_ts', '=', ts)
            .where('status', 'in', statuses)
            .executeTakeFirst(),
        timeoutMs,
      );
    },

    /** Ephemeral messages the app showed an agent in a thread. */
    ephemerals: (threadTs: string) =>
      h.slack
        .callsTo('chat.postEphemeral')
        .filter((c) => c.body.thread_ts === threadTs)
        .map((c) => String(c.body.text)),

    async contact(phoneNumber: string) {
      return db.selectFrom('contact').selectAll().where('phone_number', '=', phoneNumber).executeTakeFirstOrThrow();
    },

    async closeWindow(phoneNumber: string) {
      await db
        .updateTable('contact')
        .set({ last_inbound_at: Date.now() - 25 * 60 * 60 * 1000 })
        .where('phone_number', '=', phoneNumber)
        .execute();
    },
  };
}

// ---- EngageLab callbacks (../shared/docs/whatsapp.md §2.5) ---------------------------------------

export const ENGAGELAB_BUSINESS_NUMBER = '+15550001111';

export function postEngageLabCallback(url: string, rows: unknown[], token = ENGAGELAB_CALLBACK_TOKEN) {
  return fetch(`${url}/webhooks/whatsapp?token=${encodeURIComponent(token)}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ total: rows.length, rows }),
  });
}

/** An inbound (`response`) row: a contact's message, Meta's message object passed through. */
export function engageLabInbound(wamid: string, message: unknown, options: { from: string; name?: string }) {
  return {
    message_id: `el-in-${wamid}`,
    from: `+${options.from}`,
    to: ENGAGELAB_BUSINESS_NUMBER,
    server: 'whatsapp',
    itime: Math.floor(Date.now() / 1000),
    response: {
      event: 'received',
      response_data: {
        channel_message_id: wamid,
        contact: { profile: { name: options.name ?? 'Bob' }, wa_id: options.from },
        message,
      },
    },
  };
}

/** A status row for a message the bridge sent (row `message_id` is EngageLab's id from the send). */
export function engageLabStatus(
  messageId: string,
  to: string,
  messageStatus: string,
  options: {
    wamid?: string;
    errorCode?: number | string;
    errorMessage?: string;
    loss?: { step: number; source: string };
  } = {},
) {
  return {
    message_id: messageId,
    from: ENGAGELAB_BUSINESS_NUMBER,
    to,
    server: 'whatsapp',
    itime: Math.floor(Date.now() / 1000),
    status: {
      message_status: messageStatus,
      status_data: {
        msg_time: Math.floor(Date.now() / 1000),
        channel_message_id: options.wamid ?? `wamid.EL.${messageId}`,
        from_phone_id: '111111',
      },
      error_code: options.errorCode ?? 0,
      error_detail: { message: options.errorMessage ?? '' },
      ...(options.loss ? { loss: { loss_step: options.loss.step, loss_source: options.loss.source } } : {}),
    },
  };
}
