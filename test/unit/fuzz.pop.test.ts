import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { checkJob, parsePop, type ParsedPop } from '../../src-main/core/worker/job';
import { anyJson, brokenJsonText, mutatedJson } from '../helpers/fuzzJson';
import { recordedExchange } from '../helpers/hordeExchange';

// The pop answer is the horde's (or anyone on the path's) JSON. Property: any value gives one of
// the four outcomes with a reason, never an exception, never a change to the input.

const exchange = recordedExchange('fuzz.pop.test.ts (mutations of the recorded pops)', [
  'r2/07_pop_response.json',
  'b64/07_pop_response.json',
]);

function expectOutcome(parsed: ParsedPop): void {
  switch (parsed.kind) {
    case 'job':
      expect(parsed.job.ids.length).toBeGreaterThan(0);
      expect(parsed.job.r2Uploads).toHaveLength(parsed.job.ids.length);
      expect(Number.isFinite(parsed.job.deadlineAt)).toBe(true);
      expect(Number.isInteger(parsed.job.seed)).toBe(true);
      return;
    case 'invalid':
      expect(parsed.ids.length).toBeGreaterThan(0);
      expect(parsed.reason).toMatch(/\S/);
      return;
    case 'garbage':
      expect(parsed.reason).toMatch(/\S/);
      return;
    case 'none':
      for (const count of Object.values(parsed.skipped)) expect(Number.isFinite(count)).toBe(true);
      return;
    default:
      throw new Error(`unknown outcome ${JSON.stringify(parsed)}`);
  }
}

describe('fuzz: pop answers', () => {
  test('any JSON value is read into an outcome without throwing or touching the input', () => {
    fc.assert(
      fc.property(anyJson, fc.integer({ min: 0, max: 2 ** 45 }), (answer, at) => {
        const before = JSON.stringify(answer);
        expectOutcome(parsePop(answer, at));
        expect(JSON.stringify(answer)).toBe(before);
      }),
      { numRuns: 400, seed: 1001 },
    );
  });

  test.skipIf(exchange.skip).each([
    ['the recorded r2 pop', 'r2/07_pop_response.json'],
    ['the recorded base64 pop', 'b64/07_pop_response.json'],
  ])('%s with parts replaced, deleted or added: an outcome, and a job that passes the check is complete', (_, recording) => {
    fc.assert(
      fc.property(mutatedJson(exchange.json<unknown>(recording)), (answer) => {
        const parsed = parsePop(answer, 1_000_000);
        expectOutcome(parsed);
        // Whatever parsePop lets through, the job check must be able to judge without throwing.
        if (parsed.kind === 'job')
          expect(() => checkJob(parsed.job, { models: ['stable_diffusion'], maxPixels: 1024 * 1024 })).not.toThrow();
      }),
      { numRuns: 500, seed: 1002 },
    );
  });

  test('whatever JSON text arrives, decoding then parsing ends in an outcome', () => {
    fc.assert(
      fc.property(brokenJsonText, (text) => {
        let decoded: unknown;
        try {
          decoded = JSON.parse(text);
        } catch {
          return; // the HTTP layer reports text that is not JSON before parsePop sees it
        }
        expectOutcome(parsePop(decoded, 0));
      }),
      { numRuns: 300, seed: 1003 },
    );
  });

  test('a very deep or very wide answer is refused, not recursed into', () => {
    let deep: unknown = 'x';
    for (let i = 0; i < 100_000; i += 1) deep = { payload: deep };
    expectOutcome(parsePop({ id: 'a', ids: ['a'], payload: deep, model: 'm' }, 0));
    expectOutcome(parsePop({ ids: Array.from({ length: 100_000 }, (_, i) => `id-${i}`), payload: {} }, 0));
  });
});
