import type { App } from '@slack/bolt';
import { QueueIds } from '../../views/queue-views.js';

const OPEN_THREAD = new RegExp(`^${QueueIds.openThread}:`);

/**
 * The queue rows' *Open thread* buttons are links: Slack opens the thread itself but still sends
 * the click, which must be acknowledged (or the user sees a warning on the button). Nothing else.
 */
export function registerQueueActions(app: App): void {
  app.action(OPEN_THREAD, async ({ ack }) => {
    await ack();
  });
}
