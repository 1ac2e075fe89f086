import { readFileSync } from 'node:fs';
import { sharedData } from './sharedData';

// The recorded round trips with a real AI Horde (5.1.5) live in ../shared/data/horde-exchange (b64/: the
// image submitted inline; r2/: uploaded first). They are shared data and never copied into the
// repository: tests read them at run time, and skip (loudly) without them outside CI.

/** The recordings a test file reads. */
export interface RecordedExchange {
  /** True when a recording is missing outside CI: use with `describe.skipIf` / `test.skipIf`. */
  readonly skip: boolean;
  /** A recording as text, by its path in horde-exchange (`b64/07_pop_response.json`, `r2/14_worker.json`). */
  text(name: string): string;
  /** A recording parsed, a fresh copy on every call so tests may change it. */
  json<T = Record<string, unknown>>(name: string): NoInfer<T>;
}

/**
 * Locates the recordings `names` for the tests named `who` through {@link sharedData} (under CI=true a
 * missing one fails the file; elsewhere the file's tests that need them skip with a loud warning).
 * Reading a name not listed throws, so every file says up front what it depends on.
 */
export function recordedExchange(who: string, names: readonly string[]): RecordedExchange {
  const paths = new Map<string, string>();
  let skip = false;
  for (const name of names) {
    const found = sharedData(`horde-exchange/${name}`, who);
    if (found.skip) {
      skip = true;
      break;
    }
    paths.set(name, found.path);
  }
  const text = (name: string): string => {
    const path = paths.get(name);
    if (path === undefined) throw new Error(`${who} did not list the recording ${name}, or it is missing`);
    return readFileSync(path, 'utf8');
  };
  return { skip, text, json: <T>(name: string) => JSON.parse(text(name)) as T };
}

/**
 * The shape of a JSON value: objects as their field names (sorted) with the shapes of their values,
 * arrays as the distinct shapes of their items, everything else as its type ("number", "null", …).
 * Two answers with the same shape differ only in values.
 */
export function shapeOf(value: unknown): unknown {
  if (value === null) return 'null';
  if (Array.isArray(value)) {
    const items = new Map<string, unknown>();
    for (const item of value) {
      const shape = shapeOf(item);
      items.set(JSON.stringify(shape), shape);
    }
    return [...items.values()];
  }
  if (typeof value === 'object') {
    const record = value as Record<string, unknown>;
    return Object.fromEntries(
      Object.keys(record)
        .sort()
        .map((key) => [key, shapeOf(record[key])]),
    );
  }
  return typeof value;
}

/**
 * The numbers that changed from `before` to `after`, by path ("records.fulfillment.image": 1),
 * rounded to 1e-6 so float sums compare; fields that are numbers on one side only are ignored.
 */
export function numberChanges(before: unknown, after: unknown, path = ''): Record<string, number> {
  if (typeof before === 'number' && typeof after === 'number') {
    const change = Math.round((after - before) * 1e6) / 1e6;
    return change === 0 ? {} : { [path]: change };
  }
  if (typeof before !== 'object' || typeof after !== 'object' || before === null || after === null || Array.isArray(before)) return {};
  const changes: Record<string, number> = {};
  const a = before as Record<string, unknown>;
  const b = after as Record<string, unknown>;
  for (const key of Object.keys(b)) Object.assign(changes, numberChanges(a[key], b[key], path ? `${path}.${key}` : key));
  return changes;
}
