import { expect, test } from 'vitest';
import { describeNoJobs, readSkipCounts } from '../../src-main/core/worker/skipped';
import { recordedExchange } from '../helpers/hordeExchange';

// An empty pop's `skipped` (HORDE-PROTOCOL.md §2.3), read and put in words for the worker card.

const exchange = recordedExchange('workerSkipped.test.ts (a recorded pop with a job)', ['b64/07_pop_response.json']);

test('reads the counts of an empty pop, most frequent first, leaving out zeros', () => {
  // The protocol notes' no-job example.
  const skipped = {
    models: 12,
    max_pixels: 3,
    bridge_version: 0,
    untrusted: 0,
    performance: 0,
    controlnet: 0,
    'post-processing': 0,
    lora: 0,
    nsfw: 0,
    unsafe_ip: 0,
    painting: 0,
    img2img: 0,
    worker_id: 0,
  };
  expect(readSkipCounts(skipped)).toEqual([
    { reason: 'models', count: 12 },
    { reason: 'max_pixels', count: 3 },
  ]);
});

test.skipIf(exchange.skip)('a pop with a job carries `{}`: no reasons', () => {
  expect(readSkipCounts(exchange.json('b64/07_pop_response.json').skipped)).toEqual([]);
});

test('anything malformed is no reason, never an error', () => {
  for (const garbage of [undefined, null, 'models', 12, [], [['models', 3]], { models: '12' }]) expect(readSkipCounts(garbage)).toEqual([]);
  expect(readSkipCounts({ img2img: -4, lora: 1.5, nsfw: null, models: Number.NaN, controlnet: 2 })).toEqual([
    { reason: 'controlnet', count: 2 },
  ]);
  // Keys are shown to the user: odd or huge ones are dropped.
  expect(readSkipCounts({ ['x'.repeat(500)]: 3, '<img src=x>': 2, __proto__: 1, 'new-reason': 1 })).toEqual([
    { reason: 'new-reason', count: 1 },
  ]);
});

test('says why in words, with the numbers and this worker’s max_pixels', () => {
  const text = describeNoJobs(readSkipCounts({ img2img: 12, max_pixels: 3 }), { maxPixels: 262144 });
  expect(text).toBe(
    'No jobs right now: 12 requests need img2img, which none of the models you offer serves; 3 need more memory than max_pixels (262,144 pixels) allows.',
  );
  expect(describeNoJobs([{ reason: 'lora', count: 1 }], { maxPixels: 4096 })).toBe(
    'No jobs right now: 1 request needs LoRAs, which this worker takes only for its SD 1.x models and only while LoRAs are on (Settings, LoRA card).',
  );
  expect(describeNoJobs([], { maxPixels: 4096 })).toBe('No jobs right now: the horde has no waiting requests for this worker.');
  // Every reason the horde documents has its own words; a new one is still shown, by its key.
  for (const reason of [
    'bridge_version',
    'untrusted',
    'performance',
    'controlnet',
    'post-processing',
    'lora',
    'nsfw',
    'unsafe_ip',
    'painting',
    'img2img',
    'worker_id',
    'models',
    'max_pixels',
    'kudos',
    'blacklist',
    'step_count',
  ]) {
    expect(describeNoJobs([{ reason, count: 2 }], { maxPixels: 4096 })).not.toContain(`"${reason}"`);
  }
  expect(describeNoJobs([{ reason: 'moon_phase', count: 2 }], { maxPixels: 4096 })).toBe(
    'No jobs right now: 2 requests were skipped by the horde for "moon_phase".',
  );
});

test('requests held back for the bridge name point to the upstream listing', () => {
  const text = describeNoJobs(readSkipCounts({ bridge_version: 3, models: 1 }), { maxPixels: 262144 });
  expect(text).toBe(
    'No jobs right now: 3 requests need a feature or sampler the horde does not send to HordeDesk; 1 is for a model this worker does not serve. ' +
      "The horde decides by a worker's bridge name which samplers and features it sends, and it does not list HordeDesk yet; " +
      'https://github.com/hordedesk/hordedesk/blob/main/docs/upstream-listing.md explains.',
  );
  expect(describeNoJobs(readSkipCounts({ models: 1 }), { maxPixels: 262144 })).not.toContain('upstream-listing');
});
