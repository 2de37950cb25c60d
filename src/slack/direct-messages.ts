import type { SlackGateway } from './slack-gateway.js';

/** The app's DM with a person (its Messages tab): messages and files for them alone. */
export function createDirectMessages(gateway: SlackGateway) {
  async function openDm(userId: string): Promise<string> {
    const result = await gateway.direct((client) => client.conversations.open({ users: userId }));
    const id = result.channel?.id;
    if (!id) throw new Error('conversations.open returned no channel');
    return id;
  }
  return {
    openDm,
    async post(userId: string, text: string): Promise<void> {
      const channel = await openDm(userId);
      await gateway.inChannel(channel, (client) => client.chat.postMessage({ channel, text }));
    },
    async upload(userId: string, file: { bytes: Buffer; filename: string; title: string }, comment: string) {
      const channel = await openDm(userId);
      await gateway.inChannel(channel, (client) =>
        client.filesUploadV2({
          channel_id: channel,
          file: file.bytes,
          filename: file.filename,
          title: file.title,
          initial_comment: comment,
        }),
      );
    },
  };
}
export type DirectMessages = ReturnType<typeof createDirectMessages>;
