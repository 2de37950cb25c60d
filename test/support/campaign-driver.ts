import { SIGNING_SECRET } from './bridge-harness.js';
import type { FakeSlack } from './fake-slack.js';
import {
  blockActionsPayload,
  interactivity,
  postSlack,
  slashCommand,
  viewSubmissionPayload,
} from './slack-requests.js';
import { waitFor } from './wait-for.js';

type StoredView = { id: string; hash: string; view: { private_metadata?: string; callback_id?: string } };

/**
 * Drives `/wa send` exactly as a person in Slack would: command → form → selections → submission
 * (with a recipients file) → confirmation. Returns the draft/campaign id and timings.
 */
export async function launchCampaign(input: {
  appUrl: string;
  slack: FakeSlack;
  userId: string;
  channelId: string;
  sendingNumberId: string;
  template: string;
  variables: Record<string, string>;
  recipientsFile: Buffer;
  /** `people.csv` for per-recipient variables; default `recipients.txt`. */
  fileName?: string;
  /** false: stop at the confirmation, leaving a draft. */
  confirm?: boolean;
  /** The `/wa send` command's response_url (default: Slack's, unreachable from tests). */
  responseUrl?: string;
}): Promise<{ campaignId: string; submitAckMs: number; confirmedAt: number }> {
  const { appUrl, slack } = input;
  const viewsBefore = new Set(slack.views.keys());
  await postSlack(
    appUrl,
    slashCommand(SIGNING_SECRET, {
      text: 'send',
      userId: input.userId,
      channelId: input.channelId,
      ...(input.responseUrl ? { responseUrl: input.responseUrl } : {}),
    }),
  );
  const form = await waitFor(
    'campaign form',
    () =>
      [...(slack.views.values() as Iterable<StoredView>)].find(
        (v) => !viewsBefore.has(v.id) && v.view.callback_id === 'wa_campaign_form',
      ),
    30_000,
  );
  const trace = (step: string) => {
    if (process.env.BRIDGE_TEST_LOGS) process.stderr.write(`[campaign-driver] ${step}\n`);
  };
  trace(`form ${form.id}`);
  const choose = async (actionId: string, value: string) => {
    trace(`choose ${actionId}=${value}`);
    const current = slack.views.get(form.id) as StoredView;
    // The fake updates views in place: keep the hash as it was before the action.
    const hash = current.hash;
    await postSlack(
      appUrl,
      interactivity(
        SIGNING_SECRET,
        blockActionsPayload({
          userId: input.userId,
          actionId,
          selectedOption: value,
          // The template menu is searchable: Slack names its element external_select.
          actionType: actionId === 'tpl_template_select' ? 'external_select' : 'static_select',
          view: {
            id: form.id,
            hash,
            callbackId: 'wa_campaign_form',
            privateMetadata: current.view.private_metadata ?? '{}',
          },
        }),
      ),
    );
    await waitFor(actionId, () => (slack.views.get(form.id) as StoredView).hash !== hash, 30_000);
  };
  await choose('cmp_number_select', input.sendingNumberId);
  await choose('tpl_template_select', input.template);
  const file = slack.addFile({
    id: `FREC${Date.now()}`,
    name: input.fileName ?? 'recipients.txt',
    mimetype: input.fileName?.endsWith('.csv') ? 'text/csv' : 'text/plain',
    bytes: input.recipientsFile,
  });
  const values: Record<string, Record<string, unknown>> = {
    cmp_recipients_file: { file: { type: 'file_input', files: [file] } },
  };
  for (const [key, value] of Object.entries(input.variables))
    values[`tpl_var:${key}`] = { value: { type: 'plain_text_input', value } };
  const current = slack.views.get(form.id) as StoredView;
  const t0 = performance.now();
  const submitted = await postSlack(
    appUrl,
    interactivity(
      SIGNING_SECRET,
      viewSubmissionPayload({
        userId: input.userId,
        viewId: form.id,
        callbackId: 'wa_campaign_form',
        privateMetadata: current.view.private_metadata ?? '{}',
        values,
      }),
    ),
  );
  const submitAckMs = performance.now() - t0;
  trace(`submitted: ${submitted.status} ${submitted.text.slice(0, 200)}`);
  if (submitted.status !== 200 || !JSON.stringify(submitted.json).includes('"update"'))
    throw new Error(`submission refused: ${submitted.text}`);
  const outcome = await waitFor(
    'confirmation view',
    () => {
      const view = slack.views.get(form.id) as StoredView;
      const text = JSON.stringify(view.view);
      if (text.includes('Nothing was sent')) return { refused: text.slice(0, 500) };
      return text.includes('Confirm campaign') ? { view } : null;
    },
    300_000,
  );
  if ('refused' in outcome) throw new Error(`campaign refused: ${outcome.refused}`);
  const confirm = outcome.view;
  const campaignId = (JSON.parse(confirm.view.private_metadata ?? '{}') as { draftId: string }).draftId;
  if (input.confirm === false) return { campaignId, submitAckMs, confirmedAt: Number.NaN };
  await postSlack(
    appUrl,
    interactivity(
      SIGNING_SECRET,
      viewSubmissionPayload({
        userId: input.userId,
        viewId: form.id,
        callbackId: 'wa_campaign_confirm',
        privateMetadata: confirm.view.private_metadata ?? '',
        values: {},
      }),
    ),
  );
  return { campaignId, submitAckMs, confirmedAt: Date.now() };
}

/**
 * `/wa send` of hello_world (body variable "friend") by a marketer, from C0MARKETING unless told.
 * UMARKETER is made a workspace admin in the fake Slack, so it is a marketer under the default
 * (MARKETERS unset) as well as when MARKETERS lists it.
 */
export function launchHelloWorld(input: {
  appUrl: string;
  slack: FakeSlack;
  recipientsFile: Buffer;
  channelId?: string;
  fileName?: string;
  confirm?: boolean;
  responseUrl?: string;
}): ReturnType<typeof launchCampaign> {
  const { channelId = 'C0MARKETING', ...rest } = input;
  input.slack.addUser({ id: 'UMARKETER', name: 'marketer', isAdmin: true });
  return launchCampaign({
    userId: 'UMARKETER',
    channelId,
    sendingNumberId: '1906385232743451',
    template: 'hello_world',
    variables: { 'body.1': 'friend' },
    ...rest,
  });
}

/** Valid UK mobile numbers (+44 79xx 0xxxxx–2xxxxx), `count` of them from index `start`. */
export function recipientsFile(count: number, start = 100000): Buffer {
  const lines: string[] = [];
  for (let i = start; i < start + count; i++) {
    const block = Math.floor(i / 300_000);
    lines.push(`+44 79${String(11 + block).padStart(2, '0')} ${String(i % 300_000).padStart(6, '0')}`);
  }
  return Buffer.from(lines.join('\n'));
}
