// Durations appear in two notations: ISO 8601 in ARM/Bicep properties (PT1M, P14D) and .NET
// TimeSpan in host.json ("00:05:00", "1.02:03:04.5"). Both become milliseconds here.

const ISO = /^P(?:(\d+(?:\.\d+)?)Y)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;
const TIMESPAN = /^(?:(\d+)\.)?(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d{1,7}))?)?$/;

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** ISO 8601 duration → ms. Years and months count as 365 and 30 days, as Service Bus does. */
export function parseIsoDuration(text: string): number {
  const m = ISO.exec(text.trim());
  if (!m || text.trim() === 'P' || text.trim().endsWith('T')) {
    throw new RangeError(`"${text}" is not an ISO 8601 duration (e.g. PT30S, PT1M, P14D)`);
  }
  const n = (i: number) => (m[i] ? Number(m[i]) : 0);
  return Math.round(n(1) * 365 * DAY + n(2) * 30 * DAY + n(3) * 7 * DAY + n(4) * DAY + n(5) * HOUR + n(6) * MINUTE + n(7) * SECOND);
}

/** .NET TimeSpan ("[d.]hh:mm[:ss[.fffffff]]") → ms. */
export function parseTimeSpan(text: string): number {
  const m = TIMESPAN.exec(text.trim());
  if (!m) throw new RangeError(`"${text}" is not a TimeSpan (e.g. 00:05:00)`);
  const fraction = m[5] ? Number(`0.${m[5]}`) * SECOND : 0;
  return Math.round(Number(m[1] ?? 0) * DAY + Number(m[2]) * HOUR + Number(m[3]) * MINUTE + Number(m[4] ?? 0) * SECOND + fraction);
}

/** Accepts either notation, as settings written by people mix them. */
export function parseDuration(text: string): number {
  return text.trim().startsWith('P') ? parseIsoDuration(text) : parseTimeSpan(text);
}
