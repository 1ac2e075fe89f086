import { describe, expect, test } from 'vitest';
import { parseHeadlessArgs, tokenFromEnvironment } from '../../src-main/headless/args';

describe('headless arguments', () => {
  test('port and data folder, with a clear error for a bad port', () => {
    expect(parseHeadlessArgs(['--port', '8790', '--data-dir', '/tmp/x'], { port: 0 })).toMatchObject({ port: 8790, dataDir: '/tmp/x' });
    expect(() => parseHeadlessArgs(['--port', 'abc'], { port: 0 })).toThrow('--port must be a number from 0 to 65535');
  });

  test('HORDEDESK_TOKEN fixes the page token only when it is as hard to guess as a random one', () => {
    expect(tokenFromEnvironment({})).toBeUndefined();
    expect(tokenFromEnvironment({ HORDEDESK_TOKEN: '' })).toBeUndefined();
    const strong = 'a'.repeat(16) + 'B_-9'.repeat(4);
    expect(tokenFromEnvironment({ HORDEDESK_TOKEN: strong })).toBe(strong);
    for (const weak of ['short', 'x'.repeat(31), `${'a'.repeat(40)} `, `${'a'.repeat(40)}&token=`, 'ä'.repeat(40)]) {
      expect(() => tokenFromEnvironment({ HORDEDESK_TOKEN: weak })).toThrow('HORDEDESK_TOKEN must be 32 to 128 characters');
    }
  });
});
