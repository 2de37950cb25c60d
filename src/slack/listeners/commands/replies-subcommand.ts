import type { WaSubcommandHandler } from './wa-command.js';

/** `/wa replies`: the team's quick replies, managed in a modal (leads only; anyone sends them). */
export function repliesSubcommand(deps: {
  mayManage(userId: string): Promise<boolean>;
  refusal(): string;
  openList(triggerId: string): Promise<void>;
}): WaSubcommandHandler {
  return async ({ userId, triggerId }) => {
    if (!(await deps.mayManage(userId)))
      return `:no_entry: ${deps.refusal()} To send one, use *Quick reply* on a conversation thread's header.`;
    await deps.openList(triggerId);
    return undefined;
  };
}
