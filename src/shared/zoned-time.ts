/**
 * Dates as a person reads them: in their own time zone (Slack's `users.info` `tz`), not UTC.
 * Node's Intl knows the IANA zones; a zone it does not know falls back to the fixed offset Slack
 * reported with it (right except across a daylight-saving change).
 */
export type TimeZone = {
  /** IANA name, e.g. `Europe/Lisbon`. */
  name: string;
  /** What Slack calls it, e.g. `Western European Time`. */
  label: string;
  /** Seconds east of UTC, now (Slack's `tz_offset`). */
  offsetSeconds: number;
};

export const UTC_ZONE: TimeZone = { name: 'UTC', label: 'UTC', offsetSeconds: 0 };

const formatters = new Map<string, Intl.DateTimeFormat | null>();

function formatterFor(name: string): Intl.DateTimeFormat | null {
  if (!formatters.has(name)) {
    try {
      formatters.set(
        name,
        new Intl.DateTimeFormat('en-US', {
          timeZone: name,
          hourCycle: 'h23',
          year: 'numeric',
          month: '2-digit',
          day: '2-digit',
          hour: '2-digit',
          minute: '2-digit',
          second: '2-digit',
        }),
      );
    } catch {
      formatters.set(name, null);
    }
  }
  return formatters.get(name) ?? null;
}

/** The zone's offset from UTC at this instant, in milliseconds. */
export function offsetAt(ms: number, zone: TimeZone): number {
  const format = formatterFor(zone.name);
  if (!format) return zone.offsetSeconds * 1000;
  const part = (type: string) => Number(format.formatToParts(ms).find((p) => p.type === type)?.value ?? 0);
  const asUtc = Date.UTC(part('year'), part('month') - 1, part('day'), part('hour'), part('minute'), part('second'));
  return asUtc - Math.floor(ms / 1000) * 1000;
}

/** The instant a calendar day (`YYYY-MM-DD`) starts in the zone. */
export function startOfDay(date: string, zone: TimeZone): number {
  const utcMidnight = Date.parse(`${date}T00:00:00Z`);
  // Twice: the offset at the guess may differ from the offset at UTC midnight (a DST change).
  const guess = utcMidnight - offsetAt(utcMidnight, zone);
  return utcMidnight - offsetAt(guess, zone);
}

/** `YYYY-MM-DD HH:MM` in the zone. */
export function formatInZone(ms: number, zone: TimeZone): string {
  return new Date(ms + offsetAt(ms, zone)).toISOString().slice(0, 16).replace('T', ' ');
}
