import { z } from 'zod';
import { escapeSlackText } from '../shared/slack-text.js';
import { MAX_TEXT_CHARS, splitText } from './agent-replies.js';
import { slackToWhatsApp } from './formatting/slack-to-whatsapp.js';
import type { RoleCheck } from './permissions.js';

/** A title is shown as a select option (75 characters); a body is edited in a Slack text input (3,000). */
export const QUICK_REPLY_TITLE_MAX = 75;
export const QUICK_REPLY_BODY_MAX = 3000;
export const QUICK_REPLY_PLACEHOLDERS = ['customer_name', 'agent_name'] as const;
export type QuickReplyPlaceholder = (typeof QUICK_REPLY_PLACEHOLDERS)[number];

export type QuickReplyRecord = {
  id: string;
  title: string;
  body: string;
  created_by: string;
  updated_by: string;
  created_at: number;
  updated_at: number;
};

export type QuickReplyDraft = { title: string; body: string };

/** Where quick replies are kept (src/db/stores/quick-reply-store.ts). Listed by title, ignoring case. */
export interface QuickReplyRepository {
  /** Replies whose title or body contains `search` (any case), or all; and how many match in all. */
  list(options: {
    offset: number;
    limit: number;
    search?: string;
  }): Promise<{ rows: QuickReplyRecord[]; total: number }>;
  get(id: string): Promise<QuickReplyRecord | undefined>;
  create(reply: {
    id: string;
    draft: QuickReplyDraft;
    by: string;
    now: number;
  }): Promise<'created' | 'duplicate_title'>;
  update(
    id: string,
    change: { draft: QuickReplyDraft; by: string; now: number },
  ): Promise<'updated' | 'duplicate_title' | 'missing'>;
  remove(id: string): Promise<boolean>;
}

/** How titles compare: "Opening hours" and " opening  HOURS" are the same title. */
export function quickReplyTitleKey(title: string): string {
  return title.normalize('NFC').trim().replace(/\s+/g, ' ').toLowerCase();
}

const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;
const isPlaceholder = (name: string): name is QuickReplyPlaceholder =>
  (QUICK_REPLY_PLACEHOLDERS as readonly string[]).includes(name);
const known = QUICK_REPLY_PLACEHOLDERS.map((name) => `{{${name}}}`).join(' and ');

const titleSchema = z
  .string()
  .transform((title) => title.trim())
  .pipe(
    z
      .string()
      .min(1, 'Give the quick reply a title.')
      .max(QUICK_REPLY_TITLE_MAX, `A title has at most ${QUICK_REPLY_TITLE_MAX} characters.`)
      .refine((title) => !/[\r\n]/.test(title), 'A title is one line.'),
  );

const bodySchema = z
  .string()
  .transform((body) => body.replace(/\r\n?/g, '\n').trimEnd())
  .pipe(
    z
      .string()
      .refine((body) => body.trim().length > 0, 'Write the text of the reply.')
      .refine((body) => body.length <= QUICK_REPLY_BODY_MAX, {
        message: `The text has at most ${QUICK_REPLY_BODY_MAX.toLocaleString('en-US')} characters.`,
      })
      .superRefine((body, ctx) => {
        const unknown = [...new Set([...body.matchAll(PLACEHOLDER)].map((m) => m[1] ?? ''))].filter(
          (name) => !isPlaceholder(name),
        );
        if (unknown.length > 0)
          ctx.addIssue({
            code: 'custom',
            message: `Unknown placeholder${unknown.length > 1 ? 's' : ''} ${unknown.map((name) => `{{${name}}}`).join(', ')}: only ${known} can be used.`,
          });
      }),
  );

export type QuickReplyFieldErrors = Partial<Record<keyof QuickReplyDraft, string>>;

/** A submitted title and body, checked; errors are per field, worded for the person who typed them. */
export function validateQuickReplyDraft(
  input: Record<keyof QuickReplyDraft, unknown>,
): { ok: true; draft: QuickReplyDraft } | { ok: false; errors: QuickReplyFieldErrors } {
  const title = titleSchema.safeParse(typeof input.title === 'string' ? input.title : '');
  const body = bodySchema.safeParse(typeof input.body === 'string' ? input.body : '');
  if (title.success && body.success) return { ok: true, draft: { title: title.data, body: body.data } };
  const errors: QuickReplyFieldErrors = {};
  if (!title.success) errors.title = title.error.issues[0]?.message ?? 'Check the title.';
  if (!body.success) errors.body = body.error.issues[0]?.message ?? 'Check the text.';
  return { ok: false, errors };
}

export type PlaceholderValues = Record<QuickReplyPlaceholder, string>;

/**
 * The reply as the agent would have typed it in the thread (Slack mrkdwn): placeholders filled in,
 * then escaped, so a `<` or `&` in the body or in a customer's name stays text and never becomes a
 * mention or a link. `*bold*`, `_italic_` and `:emoji:` keep working, as in a typed reply.
 */
export function fillQuickReply(body: string, values: PlaceholderValues): string {
  const filled = body.replace(PLACEHOLDER, (match, name: string) => (isPlaceholder(name) ? values[name] : match));
  return escapeSlackText(filled.trim());
}

const noLookups = { userName: async (id: string) => id, channelName: async (id: string) => id };

/**
 * What the customer receives for a filled quick reply, as agent-replies plans a typed reply's
 * text: converted, signed with the agent's name when SIGN_AGENT_NAME is on, split at 4,096.
 */
export async function quickReplyMessages(
  text: string,
  signAs: string | null,
): Promise<{ characters: number; parts: string[] }> {
  let converted = (await slackToWhatsApp({ text }, noLookups)).trim();
  if (signAs && converted) converted = `*${signAs}:* ${converted}`;
  return { characters: converted.length, parts: splitText(converted, MAX_TEXT_CHARS) };
}

export type QuickReplySave =
  | { ok: true; reply: QuickReplyRecord }
  | { ok: false; errors: QuickReplyFieldErrors }
  | { ok: false; refused: string };

/**
 * The team's list of quick replies. Anyone who can reply in a thread may send one; only holders
 * of the managing role (LEADS) add, change or delete them, checked again at every change.
 */
export function createQuickReplyLibrary(deps: {
  repository: QuickReplyRepository;
  mayManage: RoleCheck;
  newId: () => string;
  now: () => number;
}) {
  const { repository } = deps;
  const refusal = () => `Only ${deps.mayManage.holders} can add, change or delete quick replies.`;

  return {
    refusal,
    mayManage: (userId: string) => deps.mayManage(userId),
    list: repository.list.bind(repository),
    get: repository.get.bind(repository),

    /** Adds a reply (`id` null) or changes one. */
    async save(
      userId: string,
      id: string | null,
      input: Record<keyof QuickReplyDraft, unknown>,
    ): Promise<QuickReplySave> {
      if (!(await deps.mayManage(userId))) return { ok: false, refused: refusal() };
      const checked = validateQuickReplyDraft(input);
      if (!checked.ok) return checked;
      const duplicate = {
        ok: false as const,
        errors: { title: `There is already a quick reply called "${checked.draft.title}".` },
      };
      const now = deps.now();
      if (id === null) {
        const newId = deps.newId();
        const created = await repository.create({ id: newId, draft: checked.draft, by: userId, now });
        if (created === 'duplicate_title') return duplicate;
        const reply = await repository.get(newId);
        return reply ? { ok: true, reply } : { ok: false, errors: { title: 'It was deleted meanwhile.' } };
      }
      const updated = await repository.update(id, { draft: checked.draft, by: userId, now });
      if (updated === 'duplicate_title') return duplicate;
      const reply = updated === 'updated' ? await repository.get(id) : undefined;
      return reply
        ? { ok: true, reply }
        : { ok: false, errors: { title: 'This quick reply was deleted meanwhile: close this and add it again.' } };
    },

    async remove(userId: string, id: string): Promise<{ ok: true; removed: boolean } | { ok: false; refused: string }> {
      if (!(await deps.mayManage(userId))) return { ok: false, refused: refusal() };
      return { ok: true, removed: await repository.remove(id) };
    },
  };
}
export type QuickReplyLibrary = ReturnType<typeof createQuickReplyLibrary>;
