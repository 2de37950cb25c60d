import type { BlockAction } from '@slack/bolt';

/** The `value` of a clicked button (or similar element), when it has one. */
export function actionValue(action: BlockAction['actions'][number]): string | null {
  return 'value' in action && typeof action.value === 'string' ? action.value : null;
}
