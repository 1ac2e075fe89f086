import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ModelSafetyInfo } from '../../core/safety/csamCheck';

// The model's reference entry as the safety check reads it (its `nsfw` flag and `tags`), from the
// copy of the horde's model reference that the Models catalog keeps in the data folder
// (node/models/modelCatalog.ts writes `model-reference.json`: `{ fetchedAt, reference }`, the
// reference keyed by model name). Read again only when the file changes.

/** The catalog's cache of the model reference, in the data folder. */
const REFERENCE_FILE = 'model-reference.json';

/** `nsfw` and `tags` of one raw reference record; null when the record is not an object. */
export function safetyInfoOf(record: unknown): ModelSafetyInfo | null {
  if (typeof record !== 'object' || record === null || Array.isArray(record)) return null;
  const { nsfw, tags } = record as Record<string, unknown>;
  return {
    nsfw: typeof nsfw === 'boolean' ? nsfw : null,
    tags: Array.isArray(tags) ? tags.filter((tag): tag is string => typeof tag === 'string') : null,
  };
}

/**
 * Looks models up in the cached reference. A model the reference lacks (a custom or tiny model),
 * or no reference at all, gives null: the checker then treats the model as NSFW-capable, as the
 * reference worker does for a model without an entry.
 */
export function createModelSafetyLookup(dataDir: string): (model: string) => Promise<ModelSafetyInfo | null> {
  const file = join(dataDir, REFERENCE_FILE);
  let held: { mtimeMs: number; reference: Record<string, unknown> } | null = null;
  return async (model) => {
    const info = await stat(file).catch(() => null);
    if (!info) return null;
    if (held?.mtimeMs !== info.mtimeMs) {
      const parsed = JSON.parse(await readFile(file, 'utf8')) as { reference?: unknown };
      const reference = parsed.reference;
      held = {
        mtimeMs: info.mtimeMs,
        reference: typeof reference === 'object' && reference !== null ? (reference as Record<string, unknown>) : {},
      };
    }
    return Object.hasOwn(held.reference, model) ? safetyInfoOf(held.reference[model]) : null;
  };
}
