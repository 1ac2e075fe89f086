import { describe, expect, test } from 'vitest';
import { redactSecret } from '../../src-main/core/horde/serviceErrors';
import { createRedactor, redactSecrets } from '../../src-main/core/log';

// The two text cleaners: redactSecrets for log lines, redactSecret for error texts shown to the
// user. Both remove the key wherever it is; neither mangles ordinary text over a secret too short
// to be a key.

describe('log lines (redactSecrets)', () => {
  test('a registered secret of 4 characters or more is removed everywhere', () => {
    expect(redactSecrets('k3y! then k3y! again', ['k3y!'])).toBe('[redacted] then [redacted] again');
  });

  test('a secret shorter than 4 characters leaves the line readable', () => {
    expect(redactSecrets('a bad day at the bank', ['a'])).toBe('a bad day at the bank');
    expect(redactSecrets('abc abc', ['abc'])).toBe('abc abc');
  });

  test.each([
    ['apikey=Unregistered_key_123456', 'apikey=[redacted]'],
    ['api_key: Unregistered_key_123456', 'api_key: [redacted]'],
    ['"api-key":"Unregistered_key_123456"', '"api-key":"[redacted]"'],
    ["APIKEY 'Unregistered_key_123456'", "APIKEY '[redacted]'"],
  ])('an unregistered key next to its name is removed whole, the name kept: %s', (line, cleaned) => {
    expect(redactSecrets(line, [])).toBe(cleaned);
  });

  test('a short value next to the name is not a key and stays', () => {
    expect(redactSecrets('apikey: none', [])).toBe('apikey: none');
  });

  test('a redactor cleans with the secrets it was last given', () => {
    const redactor = createRedactor(['first key']);
    expect(redactor.redact('sent first key')).toBe('sent [redacted]');
    redactor.setSecrets(['second key']);
    expect(redactor.redact('sent first key, then second key')).toBe('sent first key, then [redacted]');
    redactor.setSecrets([]);
    expect(redactor.redact('second key')).toBe('second key');
  });
});

describe('error texts (redactSecret)', () => {
  test('the key is replaced by a readable marker wherever it appears', () => {
    expect(redactSecret("User with api_key 'k3y!' not found (k3y!)", 'k3y!')).toBe("User with api_key '[api key]' not found ([api key])");
  });

  test('without a key, or with one under 4 characters, the text is unchanged', () => {
    expect(redactSecret('No such user', undefined)).toBe('No such user');
    expect(redactSecret('No such user', '')).toBe('No such user');
    expect(redactSecret('No such user', 'use')).toBe('No such user');
  });
});
