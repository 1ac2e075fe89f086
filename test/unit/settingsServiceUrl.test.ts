import { describe, expect, test } from 'vitest';
import { checkServiceUrl, isLoopbackHost, MAX_SERVICE_URL_LENGTH, originOf } from '../../src-main/common/serviceUrl';

// The one rule for every URL a settings field holds (common/serviceUrl.ts), as the Settings page
// words it. The settings schema uses it per field (test/unit/settingsFields.test.ts).

describe('which hosts are this computer', () => {
  test.each([
    ['localhost', true],
    ['LOCALHOST', true],
    ['app.localhost', true],
    ['127.0.0.1', true],
    ['127.255.255.254', true],
    ['127.1.2.3', true],
    ['[::1]', true],
    ['::1', true],
    ['localhost.example.com', false],
    ['mylocalhost', false],
    ['128.0.0.1', false],
    ['127.0.0.256', false],
    ['127.0.0', false],
    ['127.0.0.1.2', false],
    ['127.0.0.x', false],
    ['127.0.0.1234', false],
    ['1127.0.0.1', false],
    ['10.0.0.1', false],
    ['[::2]', false],
    ['::ffff:127.0.0.1', false],
    ['aihorde.net', false],
    ['', false],
    // Junk around a loopback address does not make it one.
    ['1[27.0.0.1', false],
    ['12]7.0.0.1', false],
    ['127.0.0. 1', false],
    ['127.0.0.1 ', false],
    ['127.0.0.0x1', false],
  ])('%j → %s', (host, loopback) => {
    expect(isLoopbackHost(host)).toBe(loopback);
  });
});

describe('checkServiceUrl', () => {
  test.each<[string, string | undefined]>([
    ['https://aihorde.net/api', undefined],
    ['  https://aihorde.net/api  ', undefined],
    ['HTTPS://AIHORDE.NET/api', undefined],
    ['https://aihorde.net:8443/api?x=1#y', undefined],
    ['http://127.0.0.1:7777/api', undefined],
    ['http://localhost:7777/api', undefined],
    ['http://[::1]:7777/api', undefined],
    ['', 'Enter the address of the ratings service, e.g. https://…'],
    ['   ', 'Enter the address of the ratings service, e.g. https://…'],
    [
      'http://ratings.example/api/v1',
      'Use https:// for the ratings service: plain http:// would send your API key unencrypted. (http:// is allowed only for this computer: localhost or 127.0.0.1.)',
    ],
    [
      'http://10.0.0.2/api',
      'Use https:// for the ratings service: plain http:// would send your API key unencrypted. (http:// is allowed only for this computer: localhost or 127.0.0.1.)',
    ],
    ['ftp://ratings.example/api', 'The address must start with https://'],
    ['file:///etc/passwd', 'The address must start with https://'],
    ['javascript:alert(1)', 'The address must start with https://'],
    ['https://user@ratings.example/api', 'The address must not contain a user name or password.'],
    ['https://:secret@ratings.example/api', 'The address must not contain a user name or password.'],
    ['ratings.example/api', 'That is not a full web address. Enter one like https://…'],
    ['https://', 'That is not a full web address. Enter one like https://…'],
    ['https://ratings example/api', 'The address contains spaces or invisible characters.'],
    ['https://ratings.example/a\tb', 'The address contains spaces or invisible characters.'],
    ['https://ratings.example/\u0000', 'The address contains spaces or invisible characters.'],
    ['https://ratings.example/\u007f', 'The address contains spaces or invisible characters.'],
    ['https://ratings.example/\u001f', 'The address contains spaces or invisible characters.'],
    ['https://ratings.example/\u200e', 'The address contains spaces or invisible characters.'],
    ['https://ratings.example/\u200f', 'The address contains spaces or invisible characters.'],
    ['https://ratings.example/\u202a', 'The address contains spaces or invisible characters.'],
    ['https://ratings.example/\u202e', 'The address contains spaces or invisible characters.'],
    ['https://ratings.example/\u2066', 'The address contains spaces or invisible characters.'],
    ['https://ratings.example/\u2069', 'The address contains spaces or invisible characters.'],
    ['https://ratings.example/a\u00a0b', 'The address contains spaces or invisible characters.'],
  ])('%j → %j', (raw, problem) => {
    expect(checkServiceUrl(raw, 'the ratings service')).toBe(problem);
  });

  test('the length cap is exact: 2048 characters pass, 2049 do not (after trimming)', () => {
    const base = 'https://aihorde.net/';
    const at = (n: number) => base + 'a'.repeat(n - base.length);
    expect(MAX_SERVICE_URL_LENGTH).toBe(2048);
    expect(checkServiceUrl(at(2048))).toBeUndefined();
    expect(checkServiceUrl(` ${at(2048)} `)).toBeUndefined();
    expect(checkServiceUrl(at(2049))).toBe('That address is too long (at most 2048 characters).');
  });

  test('without a name it speaks of "this service"', () => {
    expect(checkServiceUrl('')).toBe('Enter the address of this service, e.g. https://…');
    expect(checkServiceUrl('http://example.org')).toContain('Use https:// for this service');
  });
});

describe('originOf', () => {
  test.each([
    ['https://aihorde.net/api', 'https://aihorde.net'],
    ['  https://AIHORDE.net:443/api/v2  ', 'https://aihorde.net'],
    ['http://127.0.0.1:7777/api', 'http://127.0.0.1:7777'],
    ['https://ratings.aihorde.net:8443/api/v1', 'https://ratings.aihorde.net:8443'],
    ['\u00a0https://aihorde.net/api\u00a0', 'https://aihorde.net'],
  ])('%s → %s', (url, origin) => {
    expect(originOf(url)).toBe(origin);
  });
});
