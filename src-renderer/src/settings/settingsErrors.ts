import { BridgeError } from '../bridge/bridge';

/**
 * Splits a refused settings change into what goes next to each field and one line for the form.
 * The field messages come from the core schema (common/settings.ts) in the page's own words;
 * the line says nothing was saved and adds only what no field on this form shows (so nothing is
 * said twice).
 */
export function settingsErrors(
  error: unknown,
  shownOnForm: (field: string) => boolean,
): { fields: Record<string, string>; message: string } {
  if (!(error instanceof BridgeError)) return { fields: {}, message: error instanceof Error ? error.message : String(error) };
  const fields = error.fields;
  if (Object.keys(fields).length === 0) return { fields, message: error.message };
  const elsewhere = Object.entries(fields)
    .filter(([field]) => !shownOnForm(field))
    .map(([, message]) => message);
  const marked = elsewhere.length < Object.keys(fields).length;
  return { fields, message: [marked ? 'Not saved: check the fields marked in red.' : 'Not saved.', ...elsewhere].join(' ') };
}
