import { z } from 'zod';

export const AssignIds = {
  callback: 'wa_inbox_assign_modal',
  userBlock: 'wa_inbox_assignee',
  userAction: 'wa_inbox_assignee_pick',
} as const;

/** What the Assign… modal carries from the header it was opened from. */
export const assignMetadata = z.object({
  contactId: z.string().min(1).max(100),
  shownOwner: z.string().max(40).nullable(),
  channelId: z.string().min(1).max(40),
  ts: z.string().min(1).max(40),
});
export type AssignMetadata = z.infer<typeof assignMetadata>;

/** The person picked in the modal (users_select), as Slack sends it; anything else reads as none. */
export const assigneeState = z
  .object({
    [AssignIds.userBlock]: z.object({
      [AssignIds.userAction]: z.object({
        selected_user: z
          .string()
          .regex(/^[UW][A-Z0-9]{2,30}$/)
          .nullish(),
      }),
    }),
  })
  .transform((state) => state[AssignIds.userBlock][AssignIds.userAction].selected_user ?? null)
  .catch(null);

/** Assign… (leads): pick who owns the conversation. */
export function assignModal(metadata: AssignMetadata, contactLabel: string) {
  return {
    type: 'modal' as const,
    callback_id: AssignIds.callback,
    private_metadata: JSON.stringify(metadata),
    title: { type: 'plain_text' as const, text: 'Assign conversation' },
    submit: { type: 'plain_text' as const, text: 'Assign' },
    close: { type: 'plain_text' as const, text: 'Cancel' },
    blocks: [
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: `Who owns the WhatsApp conversation with ${contactLabel}? It goes to their My Sessions.${metadata.shownOwner ? ` Now: <@${metadata.shownOwner}>.` : ''}`,
        },
      },
      {
        type: 'input',
        block_id: AssignIds.userBlock,
        label: { type: 'plain_text', text: 'Owner' },
        element: {
          type: 'users_select',
          action_id: AssignIds.userAction,
          placeholder: { type: 'plain_text', text: 'Choose a person' },
          ...(metadata.shownOwner ? { initial_user: metadata.shownOwner } : {}),
        },
      },
    ],
  };
}
