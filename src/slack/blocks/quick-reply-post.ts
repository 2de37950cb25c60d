import { splitText } from '../../bridge/agent-replies.js';
import type { SlackContent } from '../../bridge/ports.js';
import { escapeSlackText } from '../../shared/slack-text.js';

/** Block Kit's section text limit, and a message's block limit (one block is the context line). */
const SECTION_CHARS = 3000;
const MAX_SECTIONS = 49;

/**
 * A quick reply in its thread: under the agent's name (the bot can't post as them), its text as
 * the customer receives it, and a line saying it is a quick reply and who sent it. The agent is
 * named, not mentioned, so nobody is notified of their own reply. A refused one (posted so the whole
 * thread sees it, with 🚫 and the reason under it) does not claim it was sent: the marks say
 * what became of it, also after _Send again_.
 */
export function quickReplyPostContent(post: {
  text: string;
  title: string;
  agentName: string;
  refused?: boolean;
}): SlackContent {
  const sections = splitText(post.text, SECTION_CHARS).slice(0, MAX_SECTIONS);
  const agent = escapeSlackText(post.agentName);
  return {
    text: post.text,
    author: { name: post.agentName, icon: ':zap:' },
    blocks: [
      ...sections.map((text) => ({ type: 'section', text: { type: 'mrkdwn', text } })),
      {
        type: 'context',
        elements: [
          {
            type: 'mrkdwn',
            text: post.refused
              ? `:zap: Quick reply _${escapeSlackText(post.title)}_ by ${agent}`
              : `:zap: Quick reply _${escapeSlackText(post.title)}_, sent on WhatsApp by ${agent}`,
          },
        ],
      },
    ],
  };
}
