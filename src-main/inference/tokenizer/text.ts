// Text preparation for the CLIP tokenizer (SD-ONNX §3.1 steps 1-3): cleanup, pre-tokenization, byte symbols.
// Pure: runs in Node, a worker thread or a browser alike.

/**
 * The HTML entities decoded by name. Python's html.unescape knows the whole HTML5 table (~2 200 names);
 * prompts in practice carry only the few that web forms and copy-paste produce, so only those are here.
 * Entities not listed stay as typed, which tokenizes them as punctuation plus letters.
 */
const NAMED_ENTITIES: Readonly<Record<string, string>> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: '\u00a0',
  shy: '\u00ad',
  copy: '©',
  reg: '®',
  trade: '™',
  deg: '°',
  plusmn: '±',
  times: '×',
  divide: '÷',
  middot: '·',
  micro: 'µ',
  para: '¶',
  sect: '§',
  cent: '¢',
  pound: '£',
  yen: '¥',
  euro: '€',
  iexcl: '¡',
  iquest: '¿',
  laquo: '«',
  raquo: '»',
  lsquo: '‘',
  rsquo: '’',
  sbquo: '‚',
  ldquo: '“',
  rdquo: '”',
  bdquo: '„',
  ndash: '–',
  mdash: '—',
  hellip: '…',
  bull: '•',
  prime: '′',
  Prime: '″',
  larr: '←',
  rarr: '→',
  hearts: '♥',
  star: '☆',
  frac12: '½',
  frac14: '¼',
  frac34: '¾',
  sup2: '²',
  sup3: '³',
  eacute: 'é',
  egrave: 'è',
  aacute: 'á',
  agrave: 'à',
  iacute: 'í',
  oacute: 'ó',
  uacute: 'ú',
  ntilde: 'ñ',
  ccedil: 'ç',
  auml: 'ä',
  ouml: 'ö',
  uuml: 'ü',
  szlig: 'ß',
  AMP: '&',
  LT: '<',
  GT: '>',
  QUOT: '"',
};

// HTML5 accepts these without the closing ';' (the legacy Latin-1 set); all others need it.
const SEMICOLON_OPTIONAL = [
  'amp',
  'lt',
  'gt',
  'quot',
  'nbsp',
  'shy',
  'copy',
  'reg',
  'deg',
  'plusmn',
  'times',
  'divide',
  'middot',
  'micro',
  'para',
  'sect',
  'cent',
  'pound',
  'yen',
  'iexcl',
  'iquest',
  'laquo',
  'raquo',
  'frac12',
  'frac14',
  'frac34',
  'sup2',
  'sup3',
  'eacute',
  'egrave',
  'aacute',
  'agrave',
  'iacute',
  'oacute',
  'uacute',
  'ntilde',
  'ccedil',
  'auml',
  'ouml',
  'uuml',
  'szlig',
  'AMP',
  'LT',
  'GT',
  'QUOT',
].sort((a, b) => b.length - a.length);

// Numeric references to 0x80-0x9F mean Windows-1252 in HTML5, as in Python's html.unescape.
const CP1252: Readonly<Record<number, string>> = {
  0x80: '€',
  0x82: '‚',
  0x83: 'ƒ',
  0x84: '„',
  0x85: '…',
  0x86: '†',
  0x87: '‡',
  0x88: 'ˆ',
  0x89: '‰',
  0x8a: 'Š',
  0x8b: '‹',
  0x8c: 'Œ',
  0x8e: 'Ž',
  0x91: '‘',
  0x92: '’',
  0x93: '“',
  0x94: '”',
  0x95: '•',
  0x96: '–',
  0x97: '—',
  0x98: '˜',
  0x99: '™',
  0x9a: 'š',
  0x9b: '›',
  0x9c: 'œ',
  0x9e: 'ž',
  0x9f: 'Ÿ',
};

const ENTITY_RE = /&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)/g;

function numericEntity(body: string): string {
  const hex = body[1] === 'x' || body[1] === 'X';
  const code = Number.parseInt(body.slice(hex ? 2 : 1).replace(';', ''), hex ? 16 : 10);
  const cp1252 = CP1252[code];
  if (cp1252 !== undefined) return cp1252;
  if (code === 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return '\ufffd';
  return String.fromCodePoint(code);
}

/** Decodes numeric references and the common named entities, the part of Python's `html.unescape` prompts need. */
export function unescapeHtml(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(ENTITY_RE, (whole, body: string) => {
    if (body.startsWith('#')) return numericEntity(body);
    if (body.endsWith(';')) {
      const named = NAMED_ENTITIES[body.slice(0, -1)];
      if (named !== undefined) return named;
    }
    // Without ';' HTML5 decodes the longest legacy name that prefixes the text ("&copy2024" -> "©2024").
    const prefix = SEMICOLON_OPTIONAL.find((name) => body.startsWith(name));
    return prefix === undefined ? whole : `${NAMED_ENTITIES[prefix] ?? ''}${body.slice(prefix.length)}`;
  });
}

// C0 controls other than tab/newlines, DEL, deprecated format characters, annotation marks and the BOM:
// ftfy drops them because they are invisible, and a stray one would otherwise become its own token.
function isRemovedControl(code: number): boolean {
  if (code <= 0x1f) return code !== 0x09 && code !== 0x0a && code !== 0x0c && code !== 0x0d;
  return code === 0x7f || code === 0xfeff || (code >= 0x206a && code <= 0x206f) || (code >= 0xfff9 && code <= 0xfffc);
}

const LIGATURES: Readonly<Record<string, string>> = {
  ﬀ: 'ff',
  ﬁ: 'fi',
  ﬂ: 'fl',
  ﬃ: 'ffi',
  ﬄ: 'ffl',
  ﬅ: 'ſt',
  ﬆ: 'st',
  Ĳ: 'IJ',
  ĳ: 'ij',
};

/**
 * An approximation of `ftfy.fix_text` with its default settings: HTML entities decoded unless the text holds
 * a '<' (ftfy's "auto"), NFC, control characters and BOMs removed, Latin ligatures split, full-width forms
 * narrowed, curly quotes straightened. ftfy's main job, repairing mojibake (UTF-8 decoded as Windows-1252),
 * is NOT attempted: it needs ftfy's statistical heuristics, and horde prompts arrive as proper JSON strings,
 * so such damage is rare. Prompts with it tokenize differently from CLIP's reference.
 */
export function approximateFtfy(text: string): string {
  return (text.includes('<') ? text : unescapeHtml(text))
    .normalize('NFC')
    .replace(/[\p{Cc}\p{Cf}\ufff9-\ufffc]/gu, (c) => (isRemovedControl(c.charCodeAt(0)) ? '' : c))
    .replace(/[\ufb00-\ufb06\u0132\u0133]/gu, (c) => LIGATURES[c] ?? c)
    .replace(/[\uff01-\uffee]/gu, (c) => c.normalize('NFKC'))
    .replace(/[\u02bc\u2018-\u201b]/gu, "'")
    .replace(/[\u201c-\u201f]/gu, '"');
}

/**
 * CLIP's cleanup: fix text, unescape HTML twice (double-escaped text is common in scraped captions),
 * collapse whitespace runs to one space, trim, lowercase.
 */
export function cleanClipText(text: string): string {
  const fixed = unescapeHtml(unescapeHtml(approximateFtfy(text)));
  return fixed
    .replace(/\p{White_Space}+/gu, ' ')
    .trim()
    .toLowerCase();
}

/**
 * CLIP's pre-tokenization pattern: the two special tokens, English contractions, runs of letters, single
 * digits (so numbers never become one token), and runs of other symbols. Whitespace separates pieces and
 * is dropped. The text is already lowercase, so the case-insensitive flag only matters for the specials.
 */
const PIECE_RE = /<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\p{White_Space}\p{L}\p{N}]+/giu;

/** Splits cleaned text into the pieces that BPE runs on independently. */
export function splitClipPieces(cleaned: string): string[] {
  return cleaned.match(PIECE_RE) ?? [];
}

/**
 * GPT-2's byte-to-symbol table: printable Latin-1 bytes stand for themselves and the other 68 bytes
 * (controls, space, 0x7F-0xA0, 0xAD) borrow U+0100 onwards, so every byte is a visible, non-space
 * character and a merges file can be a plain text file with space-separated pairs.
 */
function buildByteSymbols(): string[] {
  const symbols: string[] = new Array<string>(256);
  let borrowed = 0;
  for (let byte = 0; byte < 256; byte++) {
    const printable = (byte >= 0x21 && byte <= 0x7e) || (byte >= 0xa1 && byte <= 0xac) || (byte >= 0xae && byte <= 0xff);
    symbols[byte] = String.fromCharCode(printable ? byte : 0x100 + borrowed++);
  }
  return symbols;
}

/** Symbol for each byte value 0-255, indexed by byte value. */
export const BYTE_SYMBOLS: readonly string[] = buildByteSymbols();

/**
 * The byte symbols in vocabulary order, the first 256 ids of a CLIP vocabulary: the self-mapped printable
 * bytes first, then the borrowed ones. That is code-point order, since the borrowed ones start at U+0100.
 */
export const VOCAB_BYTE_SYMBOLS: readonly string[] = [...BYTE_SYMBOLS].sort((a, b) => a.charCodeAt(0) - b.charCodeAt(0));

const SYMBOL_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_SYMBOLS.map((symbol, byte) => [symbol, byte]));

const utf8 = new TextEncoder();

/** A piece of text as byte symbols (one character per UTF-8 byte). */
export function toByteSymbols(piece: string): string {
  let out = '';
  for (const byte of utf8.encode(piece)) out += BYTE_SYMBOLS[byte] ?? '';
  return out;
}

/** Byte values of a string of byte symbols; characters outside the table (none in CLIP tokens) are skipped. */
export function byteSymbolsToBytes(symbols: string, into: number[]): void {
  for (const symbol of symbols) {
    const byte = SYMBOL_TO_BYTE.get(symbol);
    if (byte !== undefined) into.push(byte);
  }
}
