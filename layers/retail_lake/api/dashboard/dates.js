// Date-range presets as pure functions of an anchor date (no clock, no time zone, no DOM).
//
// Why an anchor and not "today": the lake's tables describe the data's own period (the reference date
// for recency is the latest invoice date), so "last month" means the month before the data's last day.
// Dates are ISO strings 'YYYY-MM-DD'; arithmetic runs on UTC day numbers so daylight-saving shifts in
// the browser's zone can never move a day. Weeks start on Monday (ISO 8601). Ranges are inclusive.

const DAY_MS = 86400000;

export const PRESETS = [
  { id: "all", label: "All time" },
  { id: "last_7_days", label: "Last 7 days" },
  { id: "last_30_days", label: "Last 30 days" },
  { id: "this_week", label: "This week" },
  { id: "last_week", label: "Last week" },
  { id: "this_month", label: "This month" },
  { id: "last_month", label: "Last month" },
  { id: "this_quarter", label: "This quarter" },
  { id: "last_quarter", label: "Last quarter" },
  { id: "last_12_months", label: "Last 12 months" },
  { id: "this_year", label: "This year" },
  { id: "last_year", label: "Last year" },
  { id: "custom", label: "Custom range" },
];

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** True for a real calendar date written 'YYYY-MM-DD' (rejects 2023-02-29, 2024-13-01 ...). */
export function isISODate(text) {
  const match = ISO_DATE.exec(String(text ?? ""));
  if (!match) return false;
  const [y, m, d] = match.slice(1).map(Number);
  const back = new Date(Date.UTC(y, m - 1, d));
  return back.getUTCFullYear() === y && back.getUTCMonth() === m - 1 && back.getUTCDate() === d;
}

function parts(iso) {
  if (!isISODate(iso)) throw new RangeError(`not a date (YYYY-MM-DD): ${iso}`);
  const [y, m, d] = iso.split("-").map(Number);
  return { y, m, d };
}

function dayNumber(iso) {
  const { y, m, d } = parts(iso);
  return Date.UTC(y, m - 1, d) / DAY_MS;
}

function fromDayNumber(n) {
  return new Date(n * DAY_MS).toISOString().slice(0, 10);
}

/** A date for year, month (1-12, may overflow either way) and day; day 0 is the last day of the month before. */
function ymd(y, m, d) {
  return fromDayNumber(Date.UTC(y, m - 1, d) / DAY_MS);
}

export function addDays(iso, days) {
  return fromDayNumber(dayNumber(iso) + days);
}

/** ISO weekday: 1 = Monday ... 7 = Sunday. */
export function weekday(iso) {
  return ((new Date(dayNumber(iso) * DAY_MS).getUTCDay() + 6) % 7) + 1;
}

export function startOfWeek(iso) {
  return addDays(iso, 1 - weekday(iso));
}

export function startOfMonth(iso) {
  const { y, m } = parts(iso);
  return ymd(y, m, 1);
}

export function startOfQuarter(iso) {
  const { y, m } = parts(iso);
  return ymd(y, m - ((m - 1) % 3), 1);
}

/** The inclusive range {start, end} of a preset at the anchor date; null for "all" (and "custom"). */
export function presetRange(preset, anchor) {
  const { y, m } = parts(anchor);
  switch (preset) {
    case "last_7_days":
      return { start: addDays(anchor, -6), end: anchor };
    case "last_30_days":
      return { start: addDays(anchor, -29), end: anchor };
    case "this_week":
      return { start: startOfWeek(anchor), end: anchor };
    case "last_week": {
      const monday = startOfWeek(anchor);
      return { start: addDays(monday, -7), end: addDays(monday, -1) };
    }
    case "this_month":
      return { start: ymd(y, m, 1), end: anchor };
    case "last_month":
      return { start: ymd(y, m - 1, 1), end: ymd(y, m, 0) };
    case "this_quarter":
      return { start: startOfQuarter(anchor), end: anchor };
    case "last_quarter": {
      const quarter = parts(startOfQuarter(anchor));
      return { start: ymd(quarter.y, quarter.m - 3, 1), end: ymd(quarter.y, quarter.m, 0) };
    }
    case "last_12_months":
      return { start: ymd(y, m - 11, 1), end: anchor };
    case "this_year":
      return { start: ymd(y, 1, 1), end: anchor };
    case "last_year":
      return { start: ymd(y - 1, 1, 1), end: ymd(y - 1, 12, 31) };
    case "all":
    case "custom":
      return null;
    default:
      throw new RangeError(`unknown preset: ${preset}`);
  }
}

/** The first day of the month ``months`` calendar months before the anchor's month (0: its own month). */
export function monthStartBefore(anchor, months) {
  const { y, m } = parts(anchor);
  return ymd(y, m - months, 1);
}

/** The first days of the first and last months a range touches: the analytics tables are monthly. */
export function monthsCovering(start, end) {
  if (dayNumber(start) > dayNumber(end)) throw new RangeError(`range starts after it ends: ${start} > ${end}`);
  return { from: startOfMonth(start), to: startOfMonth(end) };
}

/** Whole days in an inclusive range. */
export function daysIn(start, end) {
  return dayNumber(end) - dayNumber(start) + 1;
}
