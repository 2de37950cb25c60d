import type { App } from '@slack/bolt';
import { registerWaCommand, type WaSubcommandHandler } from './commands/wa-command.js';

/** Everything the Slack side can do, per surface. Features add their listeners here. */
export type SlackFeatures = {
  subcommands: ReadonlyMap<string, WaSubcommandHandler>;
  register: ((app: App) => void)[];
};

export function registerListeners(app: App, features: SlackFeatures): void {
  registerWaCommand(app, features.subcommands);
  for (const register of features.register) register(app);
}
