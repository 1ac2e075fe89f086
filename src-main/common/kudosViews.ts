import { z } from 'zod';

// The two read-only kudos views of the Kudos page: charts from the local ledger, and the
// side-by-side reconciliation of the ledger with the horde's own numbers (PRODUCT.md, problem 4).

const bySourceShape = { job: z.number(), rating: z.number(), uptime: z.number() };

/** One local calendar day of the ledger, by activity. */
export const kudosDaySchema = z.object({
  /** Local calendar date, YYYY-MM-DD. */
  date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  ...bySourceShape,
});
export type KudosDay = z.infer<typeof kudosDaySchema>;

/** One clock hour of the ledger, by activity. */
export const kudosHourSchema = z.object({
  /** Start of the hour, ms since the epoch. */
  hourStart: z.number().int(),
  ...bySourceShape,
});
export type KudosHour = z.infer<typeof kudosHourSchema>;

export const kudosChartsSchema = z.object({
  /** The last 30 local days, oldest first, today last; days without kudos are zeros. */
  days: z.array(kudosDaySchema).length(30),
  /** The last 24 clock hours, oldest first, the current (partial) hour last; zero-filled. */
  hours: z.array(kudosHourSchema).length(24),
  /** Kudos in the last 60 minutes. */
  perHourNow: z.number(),
  /** All-time ledger totals by activity (the "all time" figure of the page). */
  allTime: z.object(bySourceShape),
});
export type KudosCharts = z.infer<typeof kudosChartsSchema>;

export const kudosReconcileRowSchema = z.object({
  label: z.string(),
  /** What HordeDesk's own ledger says; null where the ledger cannot know. */
  local: z.number().nullable(),
  /** What the horde says; null when it did not say (no key, offline, no worker yet). */
  horde: z.number().nullable(),
  /** Why the two can differ, in plain words. */
  explanation: z.string(),
});
export type KudosReconcileRow = z.infer<typeof kudosReconcileRowSchema>;

export const kudosReconcileSchema = z.object({
  /** ISO time of the comparison. */
  checkedAt: z.string(),
  /** Whether any horde numbers could be read. */
  available: z.boolean(),
  /** Why the horde's numbers are missing (no API key, offline, …); null when available. */
  message: z.string().nullable(),
  rows: z.array(kudosReconcileRowSchema),
  notes: z.array(z.string()),
});
export type KudosReconcile = z.infer<typeof kudosReconcileSchema>;
