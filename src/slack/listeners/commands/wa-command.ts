import type { App } from '@slack/bolt';
import type { KnownBlock } from '@slack/web-api';

export const WA_COMMAND = '/wa';
const SLOW_ANSWER_MS = 2_000;

/** What a subcommand answers: text, or blocks (with `text` as the fallback) when one text is not enough. */
export type WaReply = string | { text: string; blocks: KnownBlock[] };

export type WaSubcommandHandler = (args: {
  rest: string;
  userId: string;
  channelId: string;
  triggerId: string;
  /** The command's response_url: Slack keeps it valid for 30 minutes, for up to 5 messages. */
  responseUrl: string;
  respond: (text: WaReply) => Promise<void>;
}) => Promise<WaReply | undefined>;

export const HELP_TEXT = [
  '*WhatsApp bridge — `/wa` commands*',
  '• `/wa chat <number> [from <sending number>]` — open (or find) the conversation thread with a number and add it to My Sessions',
  '• `/wa send` — launch a template campaign (sending number, template, variables, recipients typed or from a .txt/.csv file)',
  '• `/wa sessions` — list your sessions (at most 100)',
  '• `/wa note <number> <text>` — set the note on a number (at most 30 characters); `/wa note <number> --clear` removes it, `/wa note <number>` shows it. The note is everything after the number; if it starts with digits, write the number without spaces or in quotes (`/wa note "+44 7911 150000" 2 kids`)',
  '• `/wa history [number]` — message history with delivery status',
  "• `/wa replies` — the team's quick replies: add, edit, delete (leads). Send one with *Quick reply* on a conversation thread's header",
  '• `/wa campaigns` — recent campaigns with delivered, read, failed, opted out and replied',
  '• `/wa optout` — the marketing opt-out list: `list`, `add <number> [reason]`, `remove <number>`, `export`, `upload` (marketers and leads)',
  '• `/wa apikey create <name>` / `/wa apikey revoke <id>` / `/wa apikey list` — keys for the HTTP API',
  '• `/wa help` — this help',
  'Numbers are international, with the country code: `+44 7700 900123`.',
].join('\n');

/**
 * `/wa <subcommand> …`. Subcommands register themselves here; anything unknown gets the help.
 * The ack carries the reply when the subcommand answers fast; slow ones use `respond`.
 */
export function registerWaCommand(app: App, subcommands: ReadonlyMap<string, WaSubcommandHandler>): void {
  app.command(WA_COMMAND, async ({ command, ack, respond, logger }) => {
    const text = command.text.trim();
    const [name = '', ...restParts] = text.split(/\s+/);
    const handler = subcommands.get(name.toLowerCase());
    if (!handler) {
      const prefix = name && name.toLowerCase() !== 'help' ? `Unknown subcommand \`${name.slice(0, 40)}\`.\n\n` : '';
      await ack({ response_type: 'ephemeral', text: `${prefix}${HELP_TEXT}` });
      return;
    }
    let acked = false;
    const say = async (message: WaReply) => {
      const body =
        typeof message === 'string'
          ? { response_type: 'ephemeral' as const, text: message }
          : { response_type: 'ephemeral' as const, text: message.text, blocks: message.blocks };
      if (!acked) {
        acked = true;
        await ack(body);
      } else await respond(body);
    };
    // A subcommand that fails still gets an answer: an unanswered command is Slack's
    // "operation_timeout" for the person, and an error here must not become a 5xx.
    const work = handler({
      rest: restParts.join(' '),
      userId: command.user_id,
      channelId: command.channel_id,
      triggerId: command.trigger_id,
      responseUrl: command.response_url,
      respond: say,
    }).catch((error: unknown): WaReply => {
      logger.error(`/wa ${name.slice(0, 40)} failed: ${error instanceof Error ? error.message : String(error)}`);
      return ':warning: That did not work. Try again in a moment; if it keeps failing, tell whoever runs the bridge (the error is in its log).';
    });
    // Slack gives up on a command after 3 seconds. Most answers come well before that; when one
    // is slow (a busy channel delays posting a thread header), acknowledge now and answer later.
    let timer: NodeJS.Timeout | undefined;
    const slow = new Promise<'slow'>((resolve) => {
      timer = setTimeout(() => resolve('slow'), SLOW_ANSWER_MS);
    });
    const first = await Promise.race([work, slow]);
    clearTimeout(timer);
    if (first === 'slow' && !acked) {
      await say('Working on it…');
      const reply = await work;
      if (reply) await say(reply);
      return;
    }
    const reply = first === 'slow' ? await work : first;
    if (!acked) {
      if (reply) await say(reply);
      else await ack();
    } else if (reply) await say(reply);
  });
}
