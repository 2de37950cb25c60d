import type { App } from '@slack/bolt';

export function registerAppHomeEvents(app: App, deps: { publishHome(userId: string): Promise<void> }): void {
  app.event('app_home_opened', async ({ event }) => {
    // A signed but odd event (no user) is not worth a publish Slack would refuse, nor a retry.
    if (event.tab !== 'home' || typeof event.user !== 'string' || event.user === '') return;
    await deps.publishHome(event.user);
  });
}
