import { describe, expect, test } from 'vitest';
import {
  AESTHETIC_SCALE,
  ARTIFACT_KEYS,
  ARTIFACT_SCALE,
  INITIAL_RATING_KEY_STATE,
  handleRatingKey,
  type KeyModifiers,
  type RatingKeyAction,
  type RatingKeyState,
} from '../../src-renderer/src/rating/ratingKeys';

/** Presses keys in order from the initial state; returns the last state and every action. */
function press(
  keys: (string | [string, KeyModifiers])[],
  from: RatingKeyState = INITIAL_RATING_KEY_STATE,
): { state: RatingKeyState; actions: RatingKeyAction[] } {
  let state = from;
  const actions: RatingKeyAction[] = [];
  for (const k of keys) {
    const [key, modifiers] = typeof k === 'string' ? [k, {}] : k;
    const result = handleRatingKey(state, key, modifiers);
    state = result.state;
    if (result.action) actions.push(result.action);
  }
  return { state, actions };
}

describe('aesthetic digits', () => {
  test('1-9 choose 1-9 and 0 chooses 10, without sending anything', () => {
    for (const [key, value] of [
      ['1', 1],
      ['5', 5],
      ['9', 9],
      ['0', 10],
    ] as const) {
      const { state, actions } = press([key]);
      expect(state.selected).toBe(value);
      expect(actions).toEqual([]);
    }
  });

  test('a second digit replaces the first', () => {
    expect(press(['3', '8']).state.selected).toBe(8);
  });

  test('the top row and the number pad count by position, whatever the layout prints', () => {
    // French layout: the "1" key prints "&" unshifted, "1" with Shift.
    expect(press([['&', { code: 'Digit1' }]]).state.selected).toBe(1);
    expect(press([['1', { code: 'Digit1', shift: true }]]).state.selected).toBe(1);
    expect(press([['0', { code: 'Numpad0' }]]).state.selected).toBe(10);
  });
});

describe('artifacts row', () => {
  test('Q W E R T Y send the chosen rating with artifacts 0-5 and clear the choice', () => {
    ARTIFACT_KEYS.forEach((letter, artifacts) => {
      const { state, actions } = press(['7', letter.toLowerCase()]);
      expect(actions).toEqual([{ type: 'rate', rating: 7, artifacts }]);
      expect(state.selected).toBeNull();
    });
  });

  test('upper-case letters (Caps Lock) work too', () => {
    expect(press(['2', 'W']).actions).toEqual([{ type: 'rate', rating: 2, artifacts: 1 }]);
  });

  test('an artifacts key before any rating sends nothing', () => {
    const result = handleRatingKey(INITIAL_RATING_KEY_STATE, 'q', {});
    expect(result.action).toBeNull();
    expect(result.state).toEqual(INITIAL_RATING_KEY_STATE);
  });

  test('letters follow their position: A Z E R T Y on a French keyboard is the same row', () => {
    expect(press(['4', ['a', { code: 'KeyQ' }]]).actions).toEqual([{ type: 'rate', rating: 4, artifacts: 0 }]);
    expect(press(['4', ['z', { code: 'KeyW' }]]).actions).toEqual([{ type: 'rate', rating: 4, artifacts: 1 }]);
    // The French "q" sits where A is on a US keyboard: not an artifacts key.
    expect(press(['4', ['q', { code: 'KeyA' }]]).actions).toEqual([]);
    // German: the key printed "z" sits where Y is, so it is artifacts 5.
    expect(press(['4', ['z', { code: 'KeyY' }]]).actions).toEqual([{ type: 'rate', rating: 4, artifacts: 5 }]);
  });
});

describe('Enter, undo, skip, help', () => {
  test('Enter sends the chosen rating without artifacts', () => {
    expect(press(['0', 'Enter']).actions).toEqual([{ type: 'rate', rating: 10, artifacts: null }]);
  });

  test('Enter with nothing chosen does nothing and leaves the key to the browser', () => {
    const result = handleRatingKey(INITIAL_RATING_KEY_STATE, 'Enter', {});
    expect(result.action).toBeNull();
    expect(result.handled).toBe(false);
  });

  test('Backspace and Ctrl/Cmd+Z undo', () => {
    expect(press(['Backspace']).actions).toEqual([{ type: 'undo' }]);
    expect(press([['z', { ctrl: true, code: 'KeyZ' }]]).actions).toEqual([{ type: 'undo' }]);
    expect(press([['z', { meta: true, code: 'KeyZ' }]]).actions).toEqual([{ type: 'undo' }]);
    // German Ctrl+Z: printed z at the Y position is still undo, not artifacts 5.
    expect(press(['6', ['z', { ctrl: true, code: 'KeyY' }]]).actions).toEqual([{ type: 'undo' }]);
  });

  test('undo clears a half-made choice', () => {
    expect(press(['6', 'Backspace']).state.selected).toBeNull();
  });

  test('S and Space skip', () => {
    expect(press(['s']).actions).toEqual([{ type: 'skip' }]);
    expect(press(['S']).actions).toEqual([{ type: 'skip' }]);
    expect(press([[' ', { code: 'Space' }]]).actions).toEqual([{ type: 'skip' }]);
    expect(press(['3', 's']).state.selected).toBeNull();
  });

  test('? and H toggle the help and keep the choice', () => {
    const opened = press(['5', ['?', { shift: true, code: 'Slash' }]]);
    expect(opened.state).toEqual({ selected: 5, helpOpen: true });
    expect(opened.actions).toEqual([{ type: 'help' }]);
    expect(press(['h'], opened.state).state.helpOpen).toBe(false);
  });

  test('rating keys still work with the help open', () => {
    const { actions } = press(['h', '8', 'e']);
    expect(actions).toEqual([{ type: 'help' }, { type: 'rate', rating: 8, artifacts: 2 }]);
  });

  test('Escape closes the help first, then forgets the choice', () => {
    const open = { selected: 3, helpOpen: true };
    const once = handleRatingKey(open, 'Escape', {});
    expect(once.state).toEqual({ selected: 3, helpOpen: false });
    expect(handleRatingKey(once.state, 'Escape', {}).state).toEqual({ selected: null, helpOpen: false });
  });
});

describe('keys left alone', () => {
  test('other shortcuts and keys are not taken', () => {
    for (const [key, modifiers] of [
      ['r', { ctrl: true, code: 'KeyR' }],
      ['z', { ctrl: true, shift: true, code: 'KeyZ' }],
      ['1', { alt: true, code: 'Digit1' }],
      ['c', { meta: true, code: 'KeyC' }],
      ['Tab', { code: 'Tab' }],
      ['ArrowLeft', { code: 'ArrowLeft' }],
      ['x', { code: 'KeyX' }],
      ['F5', { code: 'F5' }],
    ] as const) {
      const result = handleRatingKey({ selected: 4, helpOpen: false }, key, modifiers);
      expect(result).toEqual({ state: { selected: 4, helpOpen: false }, action: null, handled: false });
    }
  });

  test('the state passed in is never changed', () => {
    const state = { selected: 2, helpOpen: false };
    handleRatingKey(state, 'q', { code: 'KeyQ' });
    handleRatingKey(state, '?', {});
    expect(state).toEqual({ selected: 2, helpOpen: false });
  });
});

test('the scales cover 1-10 and 0-5, with the keys the scheme uses', () => {
  expect(AESTHETIC_SCALE.map((s) => s.value)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  for (const s of AESTHETIC_SCALE) expect(press([s.key]).state.selected).toBe(s.value);
  expect(ARTIFACT_SCALE.map((s) => s.value)).toEqual([0, 1, 2, 3, 4, 5]);
  for (const s of ARTIFACT_SCALE)
    expect(press(['1', s.key.toLowerCase()]).actions).toEqual([{ type: 'rate', rating: 1, artifacts: s.value }]);
});
