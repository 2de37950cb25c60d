import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A temporary file written a chunk at a time (a large export), so the whole of it is never held in
 * the process's memory; it is read back while it is uploaded. In its own private directory under
 * the system's temporary directory (TMPDIR), removed by `remove` whatever happened. In the
 * container /tmp is a tmpfs: the file is then in memory once, outside the process.
 */
export async function createSpoolFile(filename: string) {
  const dir = await mkdtemp(join(tmpdir(), 'bridge-spool-'));
  const path = join(dir, filename);
  let handle: Awaited<ReturnType<typeof open>> | null = null;
  let length = 0;
  try {
    handle = await open(path, 'wx', 0o600);
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  const file = handle;
  return {
    path,
    get length() {
      return length;
    },
    async write(chunk: Buffer): Promise<void> {
      let written = 0;
      while (written < chunk.length) written += (await file.write(chunk, written)).bytesWritten;
      length += chunk.length;
    },
    /** Everything written is on disk; call before reading the file. */
    async close(): Promise<void> {
      await file.close();
    },
    async remove(): Promise<void> {
      await file.close().catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
  };
}
export type SpoolFile = Awaited<ReturnType<typeof createSpoolFile>>;
