import type { App } from '@slack/bolt';

export function registerAppHomeEvents(app: App, deps: { publishHome(userId: string): Promise<void> }): void {
  app.event('app_home_opened', async ({ event }) => {
    if (event.tab !== 'home') return;
    await deps.publishHome(event.user);
  });
}
