/**
 * WhatsApp text → Slack mrkdwn. Bold, italic, strike and code share their syntax; Slack only needs
 * its three control characters escaped (a customer typing `<!channel>` must not ping anyone).
 */
export function whatsAppToSlack(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
