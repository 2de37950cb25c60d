import type { App } from '@slack/bolt';

export const WA_COMMAND = '/wa';
const SLOW_ANSWER_MS = 2_000;

export type WaSubcommandHandler = (args: {
  rest: string;
  userId: string;
  channelId: string;
  triggerId: string;
  respond: (text: string) => Promise<void>;
}) => Promise<string | undefined>;

export const HELP_TEXT = [
  '*WhatsApp bridge — `/wa` commands*',
  '• `/wa chat <number> [from <sending number>]` — open (or find) the conversation thread with a number and add it to My Sessions',
  '• `/wa send` — launch a template campaign (sending number, template, variables, recipients typed or from a .txt/.csv file)',
  '• `/wa sessions` — list your sessions (at most 100)',
  '• `/wa note <number> <text>` — set the note on a number (at most 30 characters)',
  '• `/wa history [number]` — message history with delivery status',
  '• `/wa apikey create <name>` / `/wa apikey revoke <id>` / `/wa apikey list` — keys for the HTTP API',
  '• `/wa help` — this help',
  'Numbers are international, with the country code: `+44 7700 900123`.',
].join('\n');

/**
 * `/wa <subcommand> …`. Subcommands register themselves here; anything unknown gets the help.
 * The ack carries the reply when the subcommand answers fast; slow ones use `respond`.
 */
export function registerWaCommand(app: App, subcommands: ReadonlyMap<string, WaSubcommandHandler>): void {
  app.command(WA_COMMAND, async ({ command, ack, respond }) => {
    const text = command.text.trim();
    const [name = '', ...restParts] = text.split(/\s+/);
    const handler = subcommands.get(name.toLowerCase());
    if (!handler) {
      const prefix = name && name.toLowerCase() !== 'help' ? `Unknown subcommand \`${name.slice(0, 40)}\`.\n\n` : '';
      await ack({ response_type: 'ephemeral', text: `${prefix}${HELP_TEXT}` });
      return;
    }
    let acked = false;
    const say = async (message: string) => {
      if (!acked) {
        acked = true;
        await ack({ response_type: 'ephemeral', text: message });
      } else await respond({ response_type: 'ephemeral', text: message });
    };
    const work = handler({
      rest: restParts.join(' '),
      userId: command.user_id,
      channelId: command.channel_id,
      triggerId: command.trigger_id,
      respond: say,
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
      const reply = await work.catch((error: unknown) => `:warning: That did not work: ${String(error)}`);
      if (reply) await say(reply);
      return;
    }
    const reply = first === 'slow' ? await work : first;
    if (!acked) await ack(reply ? { response_type: 'ephemeral', text: reply } : undefined);
    else if (reply) await say(reply);
  });
}
