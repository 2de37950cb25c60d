/**
 * A process-wide budget of bytes held in memory by media transfers (a customer's file on its way
 * from the provider to Slack, an agent's file from Slack to the provider). Each transfer holds its
 * file's size from before the download until the upload is done; a transfer that does not fit
 * waits its turn (first come, first served), so twenty customers sending 50 MB documents at once
 * move them a few at a time instead of holding a gigabyte. A file larger than the whole budget
 * waits until nothing else is held, then moves alone.
 */

export type BudgetHold = {
  /**
   * Holds at least `bytes` (at most the whole budget), waiting until they fit. Asking again for
   * more gives back what is held and waits for the larger amount (never holding while waiting, so
   * two growing transfers cannot wait on each other); asking for less keeps what is held.
   */
  reserve(bytes: number): Promise<void>;
  /** Gives everything back; safe to call more than once. */
  release(): void;
  readonly held: number;
};

export type ByteBudget = {
  readonly limitBytes: number;
  hold(): BudgetHold;
  /** Bytes held right now. */
  inUse(): number;
  /** The most ever held at once. */
  peak(): number;
  /** Transfers waiting for room. */
  waiting(): number;
};

export function createByteBudget(limitBytes: number): ByteBudget {
  if (!Number.isFinite(limitBytes) || limitBytes < 1) throw new Error('the byte budget must be positive');
  let used = 0;
  let highest = 0;
  const queue: { bytes: number; grant: () => void }[] = [];

  const take = (bytes: number) => {
    used += bytes;
    highest = Math.max(highest, used);
  };
  const grantWaiting = () => {
    for (let head = queue[0]; head && used + head.bytes <= limitBytes; head = queue[0]) {
      queue.shift();
      take(head.bytes);
      head.grant();
    }
  };
  const acquire = (bytes: number): Promise<void> => {
    if (queue.length === 0 && used + bytes <= limitBytes) {
      take(bytes);
      return Promise.resolve();
    }
    return new Promise((grant) => queue.push({ bytes, grant }));
  };
  const giveBack = (bytes: number) => {
    used -= bytes;
    grantWaiting();
  };

  return {
    limitBytes,
    hold() {
      let held = 0;
      let pending: Promise<void> | null = null;
      const hold: BudgetHold = {
        async reserve(bytes) {
          while (pending) await pending;
          const wanted = Math.min(limitBytes, Math.max(1, Math.ceil(bytes)));
          if (wanted <= held) return;
          giveBack(held);
          held = 0;
          pending = acquire(wanted).then(() => {
            held = wanted;
          });
          try {
            await pending;
          } finally {
            pending = null;
          }
        },
        release() {
          if (pending) {
            // Released while still waiting: give the bytes back as soon as they are granted.
            void pending.then(() => hold.release());
            return;
          }
          giveBack(held);
          held = 0;
        },
        get held() {
          return held;
        },
      };
      return hold;
    },
    inUse: () => used,
    peak: () => highest,
    waiting: () => queue.length,
  };
}

/**
 * For an HTTP download held by `memory`: once a 200 arrives, reserves its declared length (or
 * `maxBytes` when none is declared) before the body is read.
 */
export function reserveBeforeBody(
  memory: BudgetHold | undefined,
  maxBytes: number,
): { beforeBody?(status: number, contentLength: number | null): Promise<void> } {
  if (!memory) return {};
  return {
    beforeBody: (status, length) => (status === 200 ? memory.reserve(length ?? maxBytes) : Promise.resolve()),
  };
}
