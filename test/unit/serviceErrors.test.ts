import { describe, expect, test } from 'vitest';
import { HordeProtocolError, HordeUnreachableError } from '../../src-main/core/horde/errors';
import { ServiceProtocolError, ServiceUnreachableError, formatSeconds } from '../../src-main/core/horde/serviceErrors';
import { RatingsProtocolError, RatingsUnreachableError } from '../../src-main/core/rating/clientErrors';

// The horde and ratings clients share their error shapes (core/horde/serviceErrors); each service
// keeps its own classes, codes, names and sentences.

describe('protocol errors', () => {
  test.each([
    [
      new HordeProtocolError('GET /v2/find_user', 200, 'kudos: Required.'),
      'HordeProtocolError',
      'horde.protocol',
      'The AI Horde sent an answer to GET /v2/find_user that HordeDesk does not understand: kudos: Required.',
    ],
    [
      new RatingsProtocolError('GET /datasets', 502, 'the answer is not JSON.'),
      'RatingsProtocolError',
      'ratings.protocol',
      'The ratings service sent an answer to GET /datasets that HordeDesk does not understand: the answer is not JSON.',
    ],
  ])('%#: name, code and sentence of its service', (error, name, code, message) => {
    expect(error).toBeInstanceOf(ServiceProtocolError);
    expect(error).toMatchObject({ name, code, message });
  });

  test('the status and the endpoint are kept; the services stay apart by class', () => {
    const horde = new HordeProtocolError('POST /v2/generate/pop', 502, 'x');
    const ratings = new RatingsProtocolError('GET /datasets', 200, 'x');
    expect(horde).toMatchObject({ status: 502, endpoint: 'POST /v2/generate/pop' });
    expect(ratings).toMatchObject({ status: 200, endpoint: 'GET /datasets' });
    expect(horde).not.toBeInstanceOf(RatingsProtocolError);
    expect(ratings).not.toBeInstanceOf(HordeProtocolError);
  });
});

describe('unreachable errors', () => {
  test.each([
    [
      new HordeUnreachableError('POST /v2/generate/pop', 'timeout', 40_000),
      'HordeUnreachableError',
      'horde.timeout',
      'The AI Horde did not answer POST /v2/generate/pop within 40 seconds. It may be busy; HordeDesk will try again later.',
    ],
    [
      new HordeUnreachableError('GET /v2/find_user', 'network', 20_000),
      'HordeUnreachableError',
      'horde.unreachable',
      'Could not reach the AI Horde for GET /v2/find_user. Check the internet connection and the horde URL in settings.',
    ],
    [
      new RatingsUnreachableError('GET /rating/new', 'timeout', 1_000),
      'RatingsUnreachableError',
      'ratings.timeout',
      'The ratings service did not answer GET /rating/new within 1 second. HordeDesk will try again later.',
    ],
    [
      new RatingsUnreachableError('POST /rating/abc', 'network', 20_000),
      'RatingsUnreachableError',
      'ratings.unreachable',
      'Could not reach the ratings service for POST /rating/abc. Check the internet connection; HordeDesk will try again later.',
    ],
  ])('%#: name, code and sentence of its service and reason', (error, name, code, message) => {
    expect(error).toBeInstanceOf(ServiceUnreachableError);
    expect(error).toMatchObject({ name, code, message });
  });

  test('the reason, the endpoint and the cause are kept; the services stay apart by class', () => {
    const cause = new Error('ECONNREFUSED');
    const horde = new HordeUnreachableError('GET /v2/find_user', 'network', 20_000, { cause });
    expect(horde).toMatchObject({ reason: 'network', endpoint: 'GET /v2/find_user', cause });
    expect(horde).not.toBeInstanceOf(RatingsUnreachableError);
    expect(new RatingsUnreachableError('GET /datasets', 'timeout', 5_000)).not.toBeInstanceOf(HordeUnreachableError);
  });
});

test('formatSeconds rounds to whole seconds and never says 0', () => {
  expect(formatSeconds(0)).toBe('1 second');
  expect(formatSeconds(1_499)).toBe('1 second');
  expect(formatSeconds(1_500)).toBe('2 seconds');
  expect(formatSeconds(3_600_000)).toBe('3600 seconds');
});
