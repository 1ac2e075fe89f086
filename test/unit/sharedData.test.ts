import { describe, expect, test } from 'vitest';
import { sharedData, sharedDataRoot } from '../helpers/sharedData';

describe('sharedData (tests that need ../shared/data)', () => {
  const missing = { HORDEDESK_SHARED_DATA: '/nonexistent/hordedesk-shared' };

  test('in CI a missing file fails loudly, naming the path', () => {
    expect(() => sharedData('clip/x.gz', 'some tests', { ...missing, CI: 'true' }, () => undefined)).toThrow(
      /SHARED TEST DATA MISSING IN CI: some tests needs \/nonexistent\/hordedesk-shared\/clip\/x\.gz/,
    );
  });

  test('elsewhere a missing file skips with a loud warning naming the path', () => {
    const warnings: string[] = [];
    const found = sharedData('clip/x.gz', 'some tests', missing, (m) => warnings.push(m));
    expect(found).toEqual({ path: '/nonexistent/hordedesk-shared/clip/x.gz', skip: true });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/SKIPPED: some tests needs \/nonexistent\/hordedesk-shared\/clip\/x\.gz/);
    expect(warnings[0]).toMatch(/did NOT run/);
  });

  test('a present file is found without a warning; the default root is ../shared/data beside the repository', () => {
    const warnings: string[] = [];
    const found = sharedData('', 'some tests', { HORDEDESK_SHARED_DATA: process.cwd() }, (m) => warnings.push(m));
    expect(found.skip).toBe(false);
    expect(warnings).toEqual([]);
    expect(sharedDataRoot({})).toMatch(/[/\\]shared[/\\]data$/);
  });
});
