// The Rate page's keyboard scheme, as a pure function so it can be tested without a browser.
//
//   1 … 9, 0        choose the aesthetic rating (0 means 10); the choice is shown, not sent
//   Q W E R T Y     artifacts 0 … 5: sends the chosen rating with that artifacts level
//   Enter           sends the chosen rating without an artifacts level
//   Backspace       undo the last rating (while it is still waiting to be sent)
//   Ctrl/Cmd + Z    the same
//   S or Space      skip this image
//   ? or H          show or hide the help with both scales
//   Esc             close the help, else forget the chosen rating
//
// Letters are matched by where they sit on the keyboard (KeyboardEvent.code) when the browser
// says so: the artifacts keys are "the row under the digits", whatever letters a layout prints on
// it (A Z E R T Y on French keyboards, Q W E R T Z on German ones). Digits match the top row and
// the number pad. Ctrl/Cmd + Z follows the printed letter, like every other app's undo.

export interface RatingKeyState {
  /** The aesthetic rating chosen with a digit and not yet sent. */
  selected: number | null;
  helpOpen: boolean;
}

export interface KeyModifiers {
  ctrl?: boolean;
  meta?: boolean;
  alt?: boolean;
  shift?: boolean;
  /** KeyboardEvent.code, the key's physical position; empty or absent when unknown. */
  code?: string;
}

export type RatingKeyAction =
  { type: 'rate'; rating: number; artifacts: number | null } | { type: 'undo' } | { type: 'skip' } | { type: 'help' };

export interface RatingKeyResult {
  state: RatingKeyState;
  action: RatingKeyAction | null;
  /** True when the key meant something here (the page then stops the browser's own use of it). */
  handled: boolean;
}

export const INITIAL_RATING_KEY_STATE: RatingKeyState = { selected: null, helpOpen: false };

/** The artifacts row, left to right: artifacts 0 (flawless) … 5 (garbage). */
export const ARTIFACT_KEYS = ['Q', 'W', 'E', 'R', 'T', 'Y'] as const;

/** What each aesthetic score means: how much you like the image on its own. */
export const AESTHETIC_SCALE: readonly { value: number; key: string; label: string }[] = [
  { value: 1, key: '1', label: 'Awful: you would rather not have seen it' },
  { value: 2, key: '2', label: 'Very poor' },
  { value: 3, key: '3', label: 'Poor' },
  { value: 4, key: '4', label: 'Below average' },
  { value: 5, key: '5', label: 'Middling: neither good nor bad' },
  { value: 6, key: '6', label: 'Fair: a few things you like' },
  { value: 7, key: '7', label: 'Good' },
  { value: 8, key: '8', label: 'Very good' },
  { value: 9, key: '9', label: 'Excellent' },
  { value: 10, key: '0', label: 'Outstanding: one you would keep' },
];

export const AESTHETIC_QUESTION = 'How much do you like this image by itself? Your own taste counts; the prompt does not.';

/** What each artifacts level means: how flawed the image is. */
export const ARTIFACT_SCALE: readonly { value: number; key: string; short: string; label: string }[] = [
  { value: 0, key: 'Q', short: 'Flawless', label: 'No flaws at all, and it shows what it was meant to' },
  { value: 1, key: 'W', short: 'Tiny', label: 'Tiny flaws you have to look for' },
  { value: 2, key: 'E', short: 'Small', label: 'Small flaws that are easy to see but do not spoil the look' },
  { value: 3, key: 'R', short: 'Clear', label: 'Plainly wrong parts that spoil the look a little' },
  { value: 4, key: 'T', short: 'Bad', label: 'Plainly wrong parts that spoil the look a lot' },
  { value: 5, key: 'Y', short: 'Garbage', label: 'Broken beyond use' },
];

export const ARTIFACT_QUESTION = 'How flawed is it? Extra fingers, melted faces, smeared text, broken shapes…';

/** Every key, for the help overlay and the legend. */
export const KEY_HELP: readonly { keys: string; does: string }[] = [
  { keys: '1 … 9, 0', does: 'choose a rating of 1 … 9, or 10 with 0' },
  { keys: 'Q W E R T Y', does: 'artifacts 0 … 5: sends the chosen rating with it' },
  { keys: 'Enter', does: 'send the chosen rating without artifacts' },
  { keys: 'Backspace, Ctrl/Cmd+Z', does: 'undo the last rating (while it is not yet sent)' },
  { keys: 'S, Space', does: 'skip this image' },
  { keys: '?, H', does: 'show or hide this help' },
  { keys: 'Esc', does: 'close the help, or forget the chosen rating' },
];

/** The aesthetic score a key chooses, or null. */
function digitOf(key: string, code: string): number | null {
  const physical = /^(?:Digit|Numpad)(\d)$/.exec(code);
  const digit = physical?.[1] ?? (/^\d$/.test(key) ? key : null);
  if (digit === null) return null;
  return digit === '0' ? 10 : Number(digit);
}

/** The letter a key stands for: its position when known, else what it printed. */
function letterOf(key: string, code: string): string | null {
  const physical = /^Key([A-Z])$/.exec(code);
  if (physical?.[1]) return physical[1];
  if (code !== '') return null;
  return /^[a-z]$/i.test(key) ? key.toUpperCase() : null;
}

const ignored = (state: RatingKeyState): RatingKeyResult => ({ state, action: null, handled: false });

/** One key press: the next state, and what the page should do (if anything). */
export function handleRatingKey(state: RatingKeyState, key: string, modifiers: KeyModifiers = {}): RatingKeyResult {
  const code = modifiers.code ?? '';
  if (modifiers.alt) return ignored(state);
  if (modifiers.ctrl || modifiers.meta) {
    // Only undo; every other shortcut stays the browser's or the system's.
    if (!modifiers.shift && key.toLowerCase() === 'z')
      return { state: { ...state, selected: null }, action: { type: 'undo' }, handled: true };
    return ignored(state);
  }

  if (key === '?') return { state: { ...state, helpOpen: !state.helpOpen }, action: { type: 'help' }, handled: true };
  if (key === 'Escape') {
    if (state.helpOpen) return { state: { ...state, helpOpen: false }, action: { type: 'help' }, handled: true };
    return state.selected === null ? ignored(state) : { state: { ...state, selected: null }, action: null, handled: true };
  }
  if (key === 'Enter') {
    if (state.selected === null) return ignored(state);
    return { state: { ...state, selected: null }, action: { type: 'rate', rating: state.selected, artifacts: null }, handled: true };
  }
  if (key === 'Backspace') return { state: { ...state, selected: null }, action: { type: 'undo' }, handled: true };
  if (key === ' ' || code === 'Space') return { state: { ...state, selected: null }, action: { type: 'skip' }, handled: true };

  // Shift makes no difference to a digit key: French keyboards need it to type digits at all.
  const digit = digitOf(key, code);
  if (digit !== null) return { state: { ...state, selected: digit }, action: null, handled: true };

  const letter = letterOf(key, code);
  if (letter === null) return ignored(state);
  const artifacts = (ARTIFACT_KEYS as readonly string[]).indexOf(letter);
  if (artifacts >= 0) {
    // An artifacts key alone sends nothing: the rating must come first.
    if (state.selected === null) return { state, action: null, handled: true };
    return { state: { ...state, selected: null }, action: { type: 'rate', rating: state.selected, artifacts }, handled: true };
  }
  if (letter === 'S') return { state: { ...state, selected: null }, action: { type: 'skip' }, handled: true };
  if (letter === 'H') return { state: { ...state, helpOpen: !state.helpOpen }, action: { type: 'help' }, handled: true };
  return ignored(state);
}
