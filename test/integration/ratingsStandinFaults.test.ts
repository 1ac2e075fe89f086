import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { startStandin, STANDIN_KEYS, type StandinHandle } from '../../src-main/standin/server';
import { hordeCall } from '../helpers/standinKit';

// The ratings stand-in's fault switches, set from code and over POST /__standin/faults, seen
// with plain fetch: a dead service, unreadable answers, bad and huge images, refused ids, and the
// general 429/5xx switches reaching /api/v1 too.

let standin: StandinHandle;
beforeEach(async () => {
  standin = await startStandin();
});
afterEach(async () => {
  await standin.close();
});

async function newImage(): Promise<{ id: string; url: string }> {
  const { body } = await hordeCall(standin, '/api/v1/rating/new');
  return body as unknown as { id: string; url: string };
}

function rate(id: string, rating = 6) {
  return hordeCall(standin, `/api/v1/rating/${id}`, { apikey: STANDIN_KEYS.workerOwner, body: { rating } });
}

/** Settles a fetch to "network error" or its status, so a destroyed socket can be asserted. */
async function outcome(url: string): Promise<number | 'network error'> {
  try {
    const res = await fetch(url);
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 'network error';
  }
}

describe('ratings fault switches', () => {
  test('ratingsDown destroys the socket for the API and its images, and nothing else', async () => {
    const { url } = await newImage();
    standin.setFaults({ ratingsDown: true });
    expect(await outcome(`${standin.ratingsApiUrl}/rating/new`)).toBe('network error');
    expect(await outcome(`${standin.ratingsApiUrl}/datasets`)).toBe('network error');
    expect(await outcome(url)).toBe('network error');
    expect(await outcome(`${standin.hordeApiUrl}/v2/status/heartbeat`)).toBe(200);
    standin.setFaults({ ratingsDown: false });
    expect(await outcome(url)).toBe(200);
  });

  test('ratingsBadJson sends HTML (or the wrong shape) for N answers; the route still ran', async () => {
    const { id } = await newImage();
    standin.setFaults({ ratingsBadJson: { count: 1 } });
    const res = await fetch(`${standin.ratingsApiUrl}/rating/${id}`, {
      method: 'POST',
      headers: { apikey: STANDIN_KEYS.workerOwner, 'Content-Type': 'application/json' },
      body: JSON.stringify({ rating: 9 }),
    });
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const text = await res.text();
    expect(text.startsWith('<!doctype html>')).toBe(true);
    expect(() => JSON.parse(text)).toThrow();
    // The rating arrived even though its answer was unreadable.
    expect(standin.ratings()[0]).toMatchObject({ rating: 9, submitCount: 1 });
    expect((await rate(id)).status).toBe(403);

    standin.setFaults({ ratingsBadJson: { count: 2, kind: 'wrongShape' } });
    expect((await hordeCall(standin, '/api/v1/datasets')).body).toEqual({ unexpected: expect.any(String) });
    expect((await hordeCall(standin, '/api/v1/rating/new')).body).not.toHaveProperty('url');
    expect(standin.faults().ratingsBadJson).toBeNull();
    expect((await hordeCall(standin, '/api/v1/datasets')).body).toHaveLength(2);
  });

  test('ratingsBadImage serves HTML labelled image/webp, ratingsHugeImage more than 25 MB', async () => {
    const { url } = await newImage();
    standin.setFaults({ ratingsBadImage: { count: 1 } });
    const bad = await fetch(url);
    expect(bad.headers.get('content-type')).toBe('image/webp');
    expect(await bad.text()).toMatch(/^<!doctype html>/);

    standin.setFaults({ ratingsHugeImage: { count: 1 } });
    const huge = await fetch(url);
    expect(Number(huge.headers.get('content-length'))).toBeGreaterThan(25 * 1024 * 1024);
    const head = Buffer.from(await huge.arrayBuffer())
      .subarray(0, 12)
      .toString('latin1');
    expect(head.startsWith('RIFF') && head.endsWith('WEBP')).toBe(true);

    const normal = await fetch(url);
    expect(Buffer.from(await normal.arrayBuffer()).length).toBeLessThan(1024 * 1024);
  });

  test('ratingsRefuse answers 403 with a message for listed ids or a share of all ids', async () => {
    const [a, b] = [await newImage(), await newImage()];
    standin.setFaults({ ratingsRefuse: { ids: [a.id] } });
    expect(await rate(a.id)).toMatchObject({ status: 403, body: { message: expect.any(String) } });
    expect((await rate(b.id)).status).toBe(200);
    const c = await newImage();
    standin.setFaults({ ratingsRefuse: { share: 1 } });
    expect((await rate(c.id)).status).toBe(403);
    expect(standin.ratingsStats()).toMatchObject({ refused: 2, accepted: 1 });
    expect(standin.ratings().find((r) => r.id === a.id)?.submitCount).toBe(1);
  });

  test('the general 429 and 5xx switches apply to /api/v1 too', async () => {
    standin.setFaults({ rateLimit: { retryAfterS: 7, count: 1 } });
    const limited = await hordeCall(standin, '/api/v1/rating/new');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('7');
    standin.setFaults({ error5xx: { status: 503, count: 1 } });
    expect((await hordeCall(standin, '/api/v1/datasets')).status).toBe(503);
    expect((await hordeCall(standin, '/api/v1/datasets')).status).toBe(200);
    // Intercepted requests never reached the route: no image was issued.
    expect(standin.ratingsStats().issued).toBe(0);
  });

  test('every switch can be set over POST /__standin/faults, and typos are refused', async () => {
    const set = await hordeCall(standin, '/__standin/faults', {
      body: {
        ratingsDown: true,
        ratingsBadImage: { count: 2 },
        ratingsHugeImage: { count: 1, bytes: 30_000_000 },
        ratingsRefuse: { share: 0.5 },
        ratingsBadJson: { kind: 'wrongShape' },
      },
    });
    expect(set.status).toBe(200);
    expect(standin.faults()).toMatchObject({ ratingsDown: true, ratingsBadImage: { count: 2 }, ratingsRefuse: { share: 0.5 } });
    expect((await hordeCall(standin, '/__standin/faults', { body: { ratingsRefuse: { share: 2 } } })).status).toBe(400);
    expect((await hordeCall(standin, '/__standin/faults', { body: { ratingsDwn: true } })).status).toBe(400);
    expect((await hordeCall(standin, '/__standin/faults', { body: { reset: true } })).body).toMatchObject({
      ratingsDown: false,
      ratingsBadJson: null,
    });
  });
});
