import fc from 'fast-check';

// Generators for the fuzz tests (test/unit/fuzz.*.test.ts): values a peer could send after
// JSON decoding, both random and "almost right" (a recorded answer with parts replaced).

type Path = (string | number)[];

/** Values that have broken parsers before: edge numbers, prototype names, odd strings. */
export const nastyValue: fc.Arbitrary<unknown> = fc.constantFrom(
  null,
  '',
  0,
  -0,
  -1,
  1.5,
  2 ** 53,
  -(2 ** 53),
  1e308,
  -1e308,
  Number.MAX_SAFE_INTEGER + 2,
  '0',
  '-1',
  'NaN',
  'Infinity',
  '1e999',
  'null',
  '__proto__',
  'constructor',
  'toString',
  '\u202e',
  '\u0000',
  '\ud800',
  'x'.repeat(10_000),
  [],
  {},
  [[[[[]]]]],
  { __proto__: { polluted: true } },
  JSON.parse('{"__proto__": {"polluted": true}}') as unknown,
  true,
  false,
);

/** Any JSON value, mostly small, sometimes nasty. */
export const anyJson: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
  { weight: 2, arbitrary: nastyValue },
);

/** Every path into a JSON value, the root included. */
function pathsOf(value: unknown, prefix: Path = []): Path[] {
  const paths: Path[] = [prefix];
  if (Array.isArray(value)) value.forEach((v, i) => paths.push(...pathsOf(v, [...prefix, i])));
  else if (typeof value === 'object' && value !== null)
    for (const [k, v] of Object.entries(value)) paths.push(...pathsOf(v, [...prefix, k]));
  return paths;
}

/** A copy of `base` with the node at `path` replaced (or deleted when `value` is the DELETE marker). */
function replaceAt(base: unknown, path: Path, value: unknown, remove: boolean): unknown {
  if (path.length === 0) return value;
  const [head, ...rest] = path;
  if (Array.isArray(base)) {
    const copy = [...base];
    if (remove && rest.length === 0) copy.splice(Number(head), 1);
    else copy[Number(head)] = replaceAt(copy[Number(head)], rest, value, remove);
    return copy;
  }
  const copy = { ...(base as Record<string, unknown>) };
  if (remove && rest.length === 0) delete copy[String(head)];
  else
    Object.defineProperty(copy, String(head), {
      value: replaceAt(copy[String(head)], rest, value, remove),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  return copy;
}

/**
 * `base` with one to four of its nodes replaced by any JSON, deleted, or given an extra key:
 * the answers a buggy or hostile peer sends that look nearly right.
 */
export function mutatedJson(base: unknown): fc.Arbitrary<unknown> {
  const paths = pathsOf(base);
  const edit = fc.record({
    path: fc.constantFrom(...paths),
    value: anyJson,
    how: fc.constantFrom('replace', 'delete', 'addKey'),
    key: fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('__proto__', 'constructor')),
  });
  return fc.array(edit, { minLength: 1, maxLength: 4 }).map((edits) => {
    let current: unknown = structuredClone(base);
    for (const { path, value, how, key } of edits) {
      if (how === 'addKey') current = replaceAt(current, [...path, key], value, false);
      else current = replaceAt(current, path, value, how === 'delete');
    }
    return current;
  });
}

/** Text a broken server or proxy sends where JSON was expected. */
export const brokenJsonText: fc.Arbitrary<string> = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc
    .jsonValue()
    .map((v) => JSON.stringify(v))
    .chain((text) => fc.nat({ max: Math.max(0, text.length - 1) }).map((cut) => text.slice(0, cut))),
  fc.constantFrom(
    '',
    ' ',
    'null',
    '<html><body>502 Bad Gateway</body></html>',
    '{"message": ',
    '['.repeat(5000) + ']'.repeat(5000),
    '{"a":'.repeat(3000) + '1' + '}'.repeat(3000),
    '\ufeff{}',
    '{"message": "\u0000"}',
  ),
);
