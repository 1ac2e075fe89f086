import { describe, expect, test } from 'vitest';
import { backoffMs, type BackoffPolicy } from '../../src-main/core/backoff';
import { PREFETCH_RETRY, syncRetry } from '../../src-main/core/rating/raterService';
import { DELIVERY_RETRY } from '../../src-main/core/worker/delivery';
import { POP_RETRY } from '../../src-main/core/worker/hordeWorker';
import { DOWNLOAD_RETRY } from '../../src-main/node/models/modelDownloads';

const waits = (policy: BackoffPolicy, attempts: number, retryAfterMs?: number | null): number[] =>
  Array.from({ length: attempts }, (_, attempt) => backoffMs(policy, attempt, retryAfterMs));

describe('backoffMs', () => {
  test('doubles from the base and stops at the cap', () => {
    expect(waits({ baseMs: 100, capMs: 1_000 }, 6)).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });

  test('a negative attempt waits the base', () => {
    expect(backoffMs({ baseMs: 100, capMs: 1_000 }, -3)).toBe(100);
  });

  test('maxDoublings stops the growth below the cap', () => {
    expect(waits({ baseMs: 10, capMs: 10_000, maxDoublings: 2 }, 5)).toEqual([10, 20, 40, 40, 40]);
  });

  test('Retry-After replaces the computed wait, capped, only where the policy honours it', () => {
    const honours: BackoffPolicy = { baseMs: 1_000, capMs: 8_000, retryAfterCapMs: 60_000 };
    expect(backoffMs(honours, 5, 20_000)).toBe(20_000);
    expect(backoffMs(honours, 0, 500)).toBe(500);
    expect(backoffMs(honours, 0, 3_600_000)).toBe(60_000);
    // Zero, negative or no Retry-After: the computed wait.
    expect(waits(honours, 2, 0)).toEqual([1_000, 2_000]);
    expect(waits(honours, 2, -5)).toEqual([1_000, 2_000]);
    expect(waits(honours, 2, null)).toEqual([1_000, 2_000]);
    expect(backoffMs({ baseMs: 1_000, capMs: 8_000 }, 0, 20_000)).toBe(1_000);
  });
});

// Each caller's waits, as they were before the callers shared one rule.
describe("the callers' waits", () => {
  test('horde pops: 1 s doubling to 30 s; Retry-After up to 5 minutes', () => {
    expect(waits(POP_RETRY, 7)).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
    expect(backoffMs(POP_RETRY, 0, 45_000)).toBe(45_000);
    expect(backoffMs(POP_RETRY, 0, 3_600_000)).toBe(300_000);
  });

  test('uploads and submits: 1 s doubling to 8 s; Retry-After up to 5 minutes', () => {
    expect(waits(DELIVERY_RETRY, 6)).toEqual([1_000, 2_000, 4_000, 8_000, 8_000, 8_000]);
    expect(backoffMs(DELIVERY_RETRY, 3, 45_000)).toBe(45_000);
    expect(backoffMs(DELIVERY_RETRY, 0, 3_600_000)).toBe(300_000);
  });

  test('model downloads: 0.5 s doubling to 15 s; Retry-After not read', () => {
    expect(waits(DOWNLOAD_RETRY, 7)).toEqual([500, 1_000, 2_000, 4_000, 8_000, 15_000, 15_000]);
    expect(backoffMs(DOWNLOAD_RETRY, 0, 45_000)).toBe(500);
  });

  test('ratings prefetch: 2 s doubling to 10 s', () => {
    expect(waits(PREFETCH_RETRY, 5)).toEqual([2_000, 4_000, 8_000, 10_000, 10_000]);
  });

  test('ratings sync: its wait doubling at most 5 times, up to 10 s', () => {
    expect(waits(syncRetry(2_000), 5)).toEqual([2_000, 4_000, 8_000, 10_000, 10_000]);
    expect(waits(syncRetry(100), 8)).toEqual([100, 200, 400, 800, 1_600, 3_200, 3_200, 3_200]);
    expect(backoffMs(syncRetry(60_000), 0)).toBe(10_000);
  });
});
