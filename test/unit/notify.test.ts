import { expect, test } from 'vitest';
import { ratingNote, workerNote } from '../../src-main/core/notify';

test('a notification when the worker enters maintenance, once, with the horde’s words', () => {
  expect(workerNote('running', { state: 'maintenance', message: 'dropping too many jobs' })).toEqual({
    title: 'HordeDesk worker in maintenance',
    body: 'dropping too many jobs',
  });
  expect(workerNote('maintenance', { state: 'maintenance', message: 'x' })).toBeNull();
  expect(workerNote('running', { state: 'paused', message: null })).toBeNull();
});

test('a notification when the queued ratings have all been sent', () => {
  expect(ratingNote({ pendingSync: 3 }, { pendingSync: 0, sessionKudos: 15 })?.body).toBe(
    '3 ratings sent to the ratings service; 15 kudos this session.',
  );
  expect(ratingNote({ pendingSync: 0 }, { pendingSync: 0, sessionKudos: 15 })).toBeNull();
  expect(ratingNote({ pendingSync: 3 }, { pendingSync: 1, sessionKudos: 15 })).toBeNull();
  expect(ratingNote(null, { pendingSync: 0, sessionKudos: 0 })).toBeNull();
});
