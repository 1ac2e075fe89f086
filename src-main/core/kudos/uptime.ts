import type { KudosLedgerPort } from './ledger';

/**
 * Books the uptime kudos the horde has credited since the ledger last looked. The horde only
 * reports a running total (`WorkerDetails.kudos_details.uptime`), so the ledger stores the
 * difference between that total and the uptime rows it already has; reading the same total twice
 * books nothing. Returns the amount booked.
 */
export function bookUptime(ledger: KudosLedgerPort, hordeUptimeTotal: number | null | undefined, now: number): number {
  if (typeof hordeUptimeTotal !== 'number' || !Number.isFinite(hordeUptimeTotal)) return 0;
  const booked = ledger.sumSince(0).find((r) => r.source === 'uptime')?.total ?? 0;
  const delta = Math.round((hordeUptimeTotal - booked) * 100) / 100;
  if (delta <= 0) return 0;
  ledger.record({ source: 'uptime', amount: delta, at: now, hordeRef: `uptime-total-${hordeUptimeTotal}` });
  return delta;
}
