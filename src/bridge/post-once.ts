import {
  type PostIntentRepository,
  type PostMarker,
  type SlackContent,
  type SlackConversationPort,
  ThreadGoneError,
} from './ports.js';

/** Slack's clock and ours may disagree a little: search a bit before an intent was written. */
export const CLOCK_SKEW_MS = 60_000;

export type PostedMessage = { ts: string; channelId: string };

/**
 * Posts into a thread at most once across retries and crashes. The intent is written before the
 * post; only when an earlier attempt left one behind is the thread searched for the marker (from
 * that moment on), because `conversations.replies` is heavily rate limited. The caller clears the
 * intent once it has recorded the returned ts.
 */
export async function postInThreadOnce(
  deps: { slack: SlackConversationPort; intents: PostIntentRepository; now: () => number },
  request: {
    key: string;
    thread: { slack_channel_id: string; thread_ts: string };
    content: SlackContent;
    marker: PostMarker;
  },
): Promise<PostedMessage> {
  const { slack, intents } = deps;
  const { key, thread, marker } = request;
  const earlier = await intents.get(key);
  if (earlier?.threadTs) {
    const found = await slack
      .findMarkedPost(earlier.channelId, earlier.threadTs, marker, earlier.startedAt - CLOCK_SKEW_MS)
      .catch((error: unknown) => {
        if (error instanceof ThreadGoneError) return null;
        throw error;
      });
    if (found) return { ts: found, channelId: earlier.channelId };
    await intents.clear([key]);
  }
  await intents.begin({ key, channelId: thread.slack_channel_id, threadTs: thread.thread_ts, now: deps.now() });
  try {
    const ts = await slack.postInThread(thread.slack_channel_id, thread.thread_ts, request.content, marker);
    return { ts, channelId: thread.slack_channel_id };
  } catch (error) {
    if (slack.definitelyNotPosted(error) || error instanceof ThreadGoneError) await intents.clear([key]);
    throw error;
  }
}
