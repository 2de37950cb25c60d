import type { MessageStatus } from '../../bridge/records.js';

/**
 * The reactions the bridge puts on an agent's reply, one place for all of them (the reactions, the
 * legend in the thread header and `/wa help`, the history's icons). The read mark is not 👀: in most
 * workspaces that means "I'm looking at it", which a person might put there themselves.
 */
export const DELIVERY_MARKS = {
  pending: 'hourglass_flowing_sand',
  sent: 'heavy_check_mark',
  delivered: 'white_check_mark',
  read: 'blue_book',
  failed: 'x',
  refused: 'no_entry_sign',
} as const;

/** The reaction showing a stored status (none for received, queued and sending). */
export const STATUS_REACTIONS: Partial<Record<MessageStatus, string>> = {
  sent: DELIVERY_MARKS.sent,
  delivered: DELIVERY_MARKS.delivered,
  read: DELIVERY_MARKS.read,
  failed: DELIVERY_MARKS.failed,
  refused: DELIVERY_MARKS.refused,
};

const mark = (name: string) => `:${name}:`;

/** One line for the thread header and `/wa help` (at most 170 characters, like every help line). */
export const DELIVERY_MARKS_LEGEND = [
  `Marks on replies: ${mark(DELIVERY_MARKS.pending)} waiting`,
  `${mark(DELIVERY_MARKS.sent)} sent`,
  `${mark(DELIVERY_MARKS.delivered)} delivered`,
  `${mark(DELIVERY_MARKS.read)} read`,
  `${mark(DELIVERY_MARKS.failed)} failed`,
  `${mark(DELIVERY_MARKS.refused)} refused`,
].join(' · ');
