import type { App } from '@slack/bolt';
import type { Logger } from '../../shared/logger.js';
import { registerWaCommand, type WaSubcommandHandler } from './commands/wa-command.js';

/** Everything the Slack side can do, per surface. Features add their listeners here. */
export type SlackFeatures = {
  subcommands: ReadonlyMap<string, WaSubcommandHandler>;
  register: ((app: App) => void)[];
  /** Where a failed subcommand's error is logged, under the id the person is shown. */
  logger: Logger;
  /** Named in `/wa help`. */
  internalNotePrefix: string;
};

export function registerListeners(app: App, features: SlackFeatures): void {
  registerWaCommand(app, features.subcommands, {
    logger: features.logger,
    internalNotePrefix: features.internalNotePrefix,
  });
  for (const register of features.register) register(app);
}
