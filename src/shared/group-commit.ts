/**
 * Group commit: items handed in while a write is in progress go together in the next one. Each
 * caller resolves only once its own item is written, so nothing is treated as durable early, but
 * N items that finish together cost one write instead of N. Idle, an item is written at once
 * (or after `lingerMs`).
 */
export function createGroupCommit<T>(
  write: (items: T[]) => Promise<void>,
  options: {
    /** Most a write takes, counted with `sizeOf` (an item larger than this is written on its own). */
    maxBatch?: number;
    /** How much of maxBatch an item takes (default 1: maxBatch counts items). */
    sizeOf?: (item: T) => number;
    /** Wait this long after the first item for others to join (fewer, larger writes). */
    lingerMs?: number;
  } = {},
): { add(item: T): Promise<void>; idle(): Promise<void> } {
  const maxBatch = options.maxBatch ?? 200;
  const lingerMs = options.lingerMs ?? 0;
  const sizeOf = options.sizeOf ?? (() => 1);
  type Waiter = { item: T; resolve: () => void; reject: (error: unknown) => void };
  const pending: Waiter[] = [];
  let writing: Promise<void> | null = null;

  /** How many of the waiting items the next write takes: at least one, then up to maxBatch. */
  function batchLength(): number {
    let size = 0;
    let length = 0;
    for (const waiter of pending) {
      size += sizeOf(waiter.item);
      if (length > 0 && size > maxBatch) break;
      length++;
    }
    return length;
  }

  async function drain(): Promise<void> {
    while (pending.length > 0) {
      const batch = pending.splice(0, batchLength());
      try {
        await write(batch.map((w) => w.item));
        for (const waiter of batch) waiter.resolve();
      } catch (error) {
        for (const waiter of batch) waiter.reject(error);
      }
    }
  }

  function schedule(): void {
    // Let items finishing in the same turn of the event loop (or the linger) join the first write.
    writing ??= new Promise<void>((started) => (lingerMs > 0 ? setTimeout(started, lingerMs) : setImmediate(started)))
      .then(drain)
      .finally(() => {
        writing = null;
        if (pending.length > 0) schedule();
      });
  }

  return {
    add(item: T): Promise<void> {
      return new Promise<void>((resolve, reject) => {
        pending.push({ item, resolve, reject });
        schedule();
      });
    },
    async idle(): Promise<void> {
      while (writing) await writing;
    },
  };
}
