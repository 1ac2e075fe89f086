/** A span of the week when the worker may run. */
export interface HoursWindow {
  /** Days the window opens on, 0 = Sunday … 6 = Saturday. Empty means every day. */
  days: number[];
  /** Local opening time, 'HH:MM' (24 h). */
  start: string;
  /**
   * Local closing time, 'HH:MM'. Earlier than `start` means the window crosses midnight and
   * closes on the next day; equal to `start` means the whole day.
   */
  end: string;
}

/** Minutes after midnight for 'HH:MM' (or 'H:MM'); null when the text is not a valid time. */
export function parseClock(text: string): number | null {
  const match = /^(\d{1,2}):(\d{2})$/.exec(text.trim());
  if (!match) return null;
  const hours = Number(match[1]);
  const minutes = Number(match[2]);
  if (hours > 23 || minutes > 59) return null;
  return hours * 60 + minutes;
}

/** 'HH:MM' for an instant, in local time. */
export function formatClock(ms: number): string {
  const date = new Date(ms);
  return `${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

function opensOn(window: HoursWindow, day: number): boolean {
  return window.days.length === 0 || window.days.includes(day);
}

/** Whether the local instant `ms` lies inside one window. Invalid windows never contain anything. */
export function insideWindow(window: HoursWindow, ms: number): boolean {
  const start = parseClock(window.start);
  const end = parseClock(window.end);
  if (start === null || end === null) return false;
  const date = new Date(ms);
  const day = date.getDay();
  const minute = date.getHours() * 60 + date.getMinutes();
  if (start === end) return opensOn(window, day);
  if (start < end) return opensOn(window, day) && minute >= start && minute < end;
  // Crosses midnight: the evening part belongs to today's window, the morning part to yesterday's.
  return (opensOn(window, day) && minute >= start) || (opensOn(window, (day + 6) % 7) && minute < end);
}

/**
 * Whether the worker's hours allow `ms`. No windows (or only invalid ones) means any time,
 * so a typo in a setting never silently stops the worker for good.
 */
export function withinHours(windows: readonly HoursWindow[], ms: number): boolean {
  const valid = windows.filter((w) => parseClock(w.start) !== null && parseClock(w.end) !== null);
  return valid.length === 0 || valid.some((w) => insideWindow(w, ms));
}

/** The windows in plain words for a reason line: "18:00-08:00", several joined by ", ". */
export function describeHours(windows: readonly HoursWindow[]): string {
  const spans = windows
    .filter((w) => parseClock(w.start) !== null && parseClock(w.end) !== null)
    .map((w) => `${normalise(w.start)}-${normalise(w.end)}`);
  return [...new Set(spans)].join(', ');
}

function normalise(text: string): string {
  const minutes = parseClock(text) ?? 0;
  return `${pad(Math.floor(minutes / 60) % 24)}:${pad(minutes % 60)}`;
}
