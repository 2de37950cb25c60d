import { randomUUID } from 'node:crypto';

/**
 * A UUID (version 7 layout) that starts with the time in milliseconds: rows inserted in bulk with
 * these ids append to their primary-key index instead of touching a random page each, which is
 * most of the cost of recording thousands of campaign messages. The random part comes from
 * randomUUID, which draws from a cached pool (a fresh randomBytes call per id costs more).
 */
export function timeOrderedId(now: number = Date.now()): string {
  const time = (Math.max(0, Math.floor(now)) % 2 ** 48).toString(16).padStart(12, '0');
  const random = randomUUID();
  return `${time.slice(0, 8)}-${time.slice(8, 12)}-7${random.slice(15, 18)}-${random.slice(19)}`;
}
