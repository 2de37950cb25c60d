import type { WebClient } from '@slack/web-api';
import type { RoleCheck } from '../../../bridge/permissions.js';
import type { SendingNumberRecord } from '../../../bridge/records.js';
import type { TemplateCatalog } from '../../../bridge/templates.js';
import type { Logger } from '../../../shared/logger.js';
import { campaignFormView } from '../../views/campaign-views.js';
import { loadingView } from '../../views/template-picker-view.js';
import type { WaSubcommandHandler } from './wa-command.js';

/**
 * `/wa send`: opens the campaign modal inside Slack's 3-second trigger window with a loading view,
 * then fills in numbers and templates (slow, cached provider calls) with views.update. The command
 * is acknowledged empty, so nothing is left in the channel.
 */
export function sendSubcommand(deps: {
  client: WebClient;
  mayLaunchCampaigns: RoleCheck;
  sendingNumbers(): Promise<SendingNumberRecord[]>;
  catalog: TemplateCatalog;
  logger: Logger;
}): WaSubcommandHandler {
  return async ({ userId, channelId, triggerId, responseUrl }) => {
    if (!(await deps.mayLaunchCampaigns(userId))) {
      return `:no_entry: Only ${deps.mayLaunchCampaigns.holders} can launch WhatsApp campaigns. Ask your Slack admin to add you.`;
    }
    const opened = await deps.client.views.open({
      trigger_id: triggerId,
      view: loadingView('WhatsApp campaign', 'Loading sending numbers and templates…'),
    });
    // Nothing is said in the channel: the modal opening is the answer (the command is acked empty).
    const viewId = opened.view?.id;
    if (!viewId) return undefined;
    void (async () => {
      try {
        const [numbers, templates] = await Promise.all([deps.sendingNumbers(), deps.catalog.approved()]);
        const usable = numbers.filter((n) => n.health === 'connected');
        await deps.client.views.update({
          view_id: viewId,
          view: campaignFormView({
            metadata: {
              channelId,
              responseUrl,
              sendingNumberId: usable.length === 1 ? (usable[0]?.id ?? null) : null,
              templateName: null,
              language: null,
            },
            numbers,
            templates,
          }),
        });
      } catch (error) {
        deps.logger.warn({ err: String(error) }, 'filling the campaign form failed');
        await deps.client.views
          .update({
            view_id: viewId,
            view: loadingView(
              'WhatsApp campaign',
              ':warning: Sending numbers or templates could not be loaded from WhatsApp right now. Close this and try again in a minute.',
            ),
          })
          .catch(() => {});
      }
    })();
    return undefined;
  };
}
