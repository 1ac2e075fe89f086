import { expect, test } from 'vitest';
import { createHordeApiError, HordeMissingKeyError, HordeUnreachableError } from '../../src-main/core/horde/errors';
import { keyDestinationProblem } from '../../src-main/core/keyOrigin';
import { isKeyProblem } from '../../src-main/core/worker/keyProblem';

// Which refused pops a new key (or confirming where it may go) can fix: the worker resumes after
// those by itself (issue 12 item 6), and only after those.

const apiError = (status: number, rc: string | undefined) =>
  createHordeApiError({
    endpoint: 'POST /v2/generate/pop',
    status,
    hordeMessage: 'x',
    rc,
    validationErrors: undefined,
    retryAfterMs: undefined,
  });

test.each([
  ['a key the horde does not know (401 InvalidAPIKey)', apiError(401, 'InvalidAPIKey'), true],
  ['a worker name another account owns (403 WrongCredentials)', apiError(403, 'WrongCredentials'), true],
  ['the anonymous key (403 AnonForbiddenWorker)', apiError(403, 'AnonForbiddenWorker'), true],
  ['no key at all', new HordeMissingKeyError('POST /v2/generate/pop'), true],
  [
    'a key held back from an unconfirmed address',
    keyDestinationProblem('https://other.example/api/v2/generate/pop', 'https://aihorde.net/api', 'the horde'),
    true,
  ],
  ['maintenance (403 WorkerMaintenance)', apiError(403, 'WorkerMaintenance'), false],
  ['a bad request (400 BadRequest)', apiError(400, 'BadRequest'), false],
  ['no answer', new HordeUnreachableError('POST /v2/generate/pop', 'timeout', 20_000), false],
])('%s', (_what, error, expected) => {
  expect(isKeyProblem(error)).toBe(expected);
});
