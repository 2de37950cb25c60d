/**
 * Runs `work(key)` one at a time per key, coalescing requests: a request made while a run is in
 * flight queues exactly one more run, which starts after it (and so sees everything that changed
 * before the request). Used where the last write must reflect the latest state, such as
 * republishing a user's App Home: two overlapping `views.publish` calls could otherwise land in
 * the wrong order and leave a stale tab.
 */
export function createLatestWins<K>(work: (key: K) => Promise<void>) {
  const lanes = new Map<K, { queued: Promise<void> | null; tail: Promise<void> }>();
  return (key: K): Promise<void> => {
    let lane = lanes.get(key);
    if (!lane) {
      lane = { queued: null, tail: Promise.resolve() };
      lanes.set(key, lane);
    }
    if (lane.queued) return lane.queued;
    const current = lane;
    const run = current.tail
      .catch(() => {})
      .then(() => {
        current.queued = null;
        return work(key);
      })
      .finally(() => {
        if (current.tail === run && current.queued === null) lanes.delete(key);
      });
    current.queued = run;
    current.tail = run;
    return run;
  };
}
