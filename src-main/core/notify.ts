import type { WorkerStatusDto } from '../common/contract';
import type { RatingStatus } from '../common/ratings';

/** A desktop notification: a title and one sentence. */
export interface Note {
  title: string;
  body: string;
}

/** Shows notes: Electron's Notification in the app, an in-app notice in headless mode. */
export interface NotifierPort {
  show(note: Note): void;
}

/** The worker just entered maintenance: say why, in the horde's words. */
export function workerNote(previous: WorkerStatusDto['state'] | null, next: Pick<WorkerStatusDto, 'state' | 'message'>): Note | null {
  if (next.state !== 'maintenance' || previous === 'maintenance') return null;
  return {
    title: 'HordeDesk worker in maintenance',
    body: next.message ?? 'The horde put the worker in maintenance. Open HordeDesk to see why and leave it.',
  };
}

/** Every rating waiting to be sent has just been sent. */
export function ratingNote(
  previous: Pick<RatingStatus, 'pendingSync'> | null,
  next: Pick<RatingStatus, 'pendingSync' | 'sessionKudos'>,
): Note | null {
  if (!previous || previous.pendingSync === 0 || next.pendingSync !== 0) return null;
  const n = previous.pendingSync;
  return {
    title: 'Ratings synced',
    body: `${n} rating${n === 1 ? '' : 's'} sent to the ratings service; ${next.sessionKudos.toLocaleString('en-US', { maximumFractionDigits: 1 })} kudos this session.`,
  };
}
