import type { App } from '@slack/bolt';
import type { KnownBlock } from '@slack/web-api';
import { userFacingError } from '../../../shared/error-id.js';
import type { Logger } from '../../../shared/logger.js';
import { type HelpOptions, helpText, unknownSubcommandText } from './wa-help.js';

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

/**
 * `/wa <subcommand> …`. Subcommands register themselves here; anything unknown gets the help.
 * The ack carries the reply when the subcommand answers fast; slow ones use `respond`.
 */
export function registerWaCommand(
  app: App,
  subcommands: ReadonlyMap<string, WaSubcommandHandler>,
  options: HelpOptions & { logger: Logger },
): void {
  app.command(WA_COMMAND, async ({ command, ack, respond }) => {
    const text = command.text.trim();
    const [name = '', ...restParts] = text.split(/\s+/);
    const handler = subcommands.get(name.toLowerCase());
    if (!handler) {
      const answer =
        name && name.toLowerCase() !== 'help'
          ? unknownSubcommandText(name, [...subcommands.keys(), 'help'], options)
          : helpText(options);
      await ack({ response_type: 'ephemeral', text: answer });
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
    }).catch(
      (error: unknown): WaReply =>
        userFacingError(options.logger, error, {
          failed: `\`/wa ${name.toLowerCase()}\` could not be completed.`,
          next: 'Try again in a moment; if it fails again, give whoever runs the bridge this error id.',
          log: 'a /wa subcommand failed',
          context: { subcommand: name.toLowerCase(), userId: command.user_id },
        }),
    );
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
