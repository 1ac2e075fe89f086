import { describe, expect, expectTypeOf, test } from 'vitest';
import { contract, type CommandName, type Handlers } from '../../src-main/common/contract';
import { dispatch } from '../../src-main/common/dispatch';
import { UserFacingError } from '../../src-main/common/result';

// Type-level proof: a Handlers object must name every command of the contract.
type Missing<H> = Exclude<CommandName, keyof H>;
expectTypeOf<Missing<Handlers>>().toEqualTypeOf<never>();
// @ts-expect-error a handlers object without 'app.info' is not a Handlers
const _incomplete: Handlers = { 'settings.get': async () => ({}) };

function handlers(overrides: Partial<Handlers> = {}): Handlers {
  const unreachable = async (): Promise<never> => {
    throw new Error('not used in this test');
  };
  const base = Object.fromEntries(Object.keys(contract.commands).map((n) => [n, unreachable])) as unknown as Handlers;
  return { ...base, ...overrides };
}

describe('dispatch', () => {
  const internal: unknown[] = [];
  const onInternal = (_n: string, e: unknown): void => void internal.push(e);

  test('refuses a command the contract does not have', async () => {
    const result = await dispatch(handlers(), 'shell.exec', { cmd: 'rm -rf /' }, onInternal);
    expect(result).toMatchObject({ ok: false, error: { code: 'unknown-command' } });
  });

  test('parses the request with the schema before the handler sees it', async () => {
    let seen: unknown;
    const h = handlers({
      'hardware.profile': async (req) => {
        seen = req;
        throw new UserFacingError('x', 'stop');
      },
    });
    await dispatch(h, 'hardware.profile', {}, onInternal);
    expect(seen).toEqual({ refresh: false });
    const bad = await dispatch(h, 'hardware.profile', { refresh: 'yes' }, onInternal);
    expect(bad).toMatchObject({ ok: false, error: { code: 'invalid-request', fields: { refresh: expect.any(String) } } });
    const extra = await dispatch(h, 'hardware.profile', { refresh: true, evil: 1 }, onInternal);
    expect(extra.ok).toBe(false);
  });

  test('user-facing errors keep their message; other errors become a plain sentence', async () => {
    const h = handlers({
      'app.info': async () => {
        throw new UserFacingError('busy', 'HordeDesk is busy.');
      },
      'app.state': async () => {
        throw new Error('secret internal detail');
      },
    });
    expect(await dispatch(h, 'app.info', {}, onInternal)).toEqual({ ok: false, error: { code: 'busy', message: 'HordeDesk is busy.' } });
    const hidden = await dispatch(h, 'app.state', {}, onInternal);
    expect(hidden).toMatchObject({ ok: false, error: { code: 'internal' } });
    expect(JSON.stringify(hidden)).not.toContain('secret internal detail');
    expect(internal.length).toBeGreaterThan(0);
  });

  test('an answer that breaks the contract is not passed on', async () => {
    const h = handlers({ 'app.state': async () => ({ line: 'x', worker: 'dancing' }) as never });
    expect(await dispatch(h, 'app.state', {}, onInternal)).toMatchObject({ ok: false, error: { code: 'internal' } });
  });
});
