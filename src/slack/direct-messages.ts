import type { HttpClient } from '../shared/http-client.js';
import type { SlackFileUrlCheck } from './slack-file-hosts.js';
import type { SlackGateway } from './slack-gateway.js';
import type { UserFile } from './user-file-delivery.js';

/** The app's DM with a person (its Messages tab): messages and files for them alone. */
export function createDirectMessages(
  gateway: SlackGateway,
  files: {
    /** For files on disk, streamed to Slack's upload URL. */
    http: HttpClient;
    fileUrls: SlackFileUrlCheck;
  },
) {
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
    async upload(userId: string, file: UserFile, comment: string) {
      const channel = await openDm(userId);
      if ('bytes' in file) {
        await gateway.inChannel(channel, (client) =>
          client.filesUploadV2({
            channel_id: channel,
            file: file.bytes,
            filename: file.filename,
            title: file.title,
            initial_comment: comment,
          }),
        );
        return;
      }
      // A file on disk goes the way filesUploadV2 goes (upload URL, upload, complete), but streamed:
      // filesUploadV2 would read it into memory first.
      const target = await gateway.direct((client) =>
        client.files.getUploadURLExternal({ filename: file.filename, length: file.length }),
      );
      if (!target.upload_url || !target.file_id) throw new Error('files.getUploadURLExternal returned no upload URL');
      if (!files.fileUrls(target.upload_url)) throw new Error('refusing to upload a file outside Slack’s file hosts');
      const uploaded = await files.http.request({
        method: 'POST',
        url: target.upload_url,
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(file.length) },
        body: { file: file.path },
        timeoutMs: 120_000,
      });
      if (uploaded.status !== 200) throw new Error(`uploading the file to Slack failed (HTTP ${uploaded.status})`);
      const fileId = target.file_id;
      await gateway.inChannel(channel, (client) =>
        client.files.completeUploadExternal({
          files: [{ id: fileId, title: file.title }],
          channel_id: channel,
          initial_comment: comment,
        }),
      );
    },
  };
}
export type DirectMessages = ReturnType<typeof createDirectMessages>;
