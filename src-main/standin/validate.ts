import { isAnswer, validationError, type Answer, type RouteRequest } from './router';

// Body validation the way flask-restx does it with `validate=True`: the JSON body is checked
// against the swagger model (jsonschema) before any handler runs, and a failure is a 400 with
// per-field `errors` and no `rc` (HORDE-PROTOCOL.md §1.3). Unknown keys are ignored (§1.2).
// The texts imitate jsonschema's ("21 is greater than the maximum of 20"); they are not copied
// from a live answer, so clients should only rely on the field names.

/** One declared field of a JSON body. */
export type FieldSpec =
  | { type: 'string'; required?: boolean; minLength?: number; maxLength?: number; enum?: readonly string[] }
  | { type: 'integer' | 'number'; required?: boolean; min?: number; max?: number }
  | { type: 'boolean'; required?: boolean }
  | { type: 'string[]'; required?: boolean; maxItems?: number; itemMinLength?: number; itemMaxLength?: number }
  | { type: 'array'; required?: boolean; maxItems?: number };

/** A body model: field name to its spec. */
export type BodySpec = Record<string, FieldSpec>;

/** A parsed JSON object, or the answer to send instead. */
export function parseJsonBody(body: string): Record<string, unknown> | Answer {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body === '' ? '{}' : body);
  } catch {
    // werkzeug's BadRequest for undecodable JSON, surfaced by flask-restx as a plain message.
    return { status: 400, body: { message: 'Failed to decode JSON object' } };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return validationError({ '': `${JSON.stringify(parsed)} is not of type 'object'` });
  }
  return parsed as Record<string, unknown>;
}

/** Checks a body against its model; undefined when it passes. */
export function checkBody(body: Record<string, unknown>, spec: BodySpec): Answer | undefined {
  const errors: Record<string, string> = {};
  for (const [name, field] of Object.entries(spec)) {
    const value = body[name];
    if (value === undefined) {
      if (field.required) errors[name] = `'${name}' is a required property`;
      continue;
    }
    const problem = checkValue(value, field);
    if (problem) errors[name] = problem;
  }
  return Object.keys(errors).length ? validationError(errors) : undefined;
}

function show(value: unknown): string {
  return typeof value === 'string' ? `'${value}'` : JSON.stringify(value);
}

function checkValue(value: unknown, field: FieldSpec): string | undefined {
  switch (field.type) {
    case 'string':
      if (typeof value !== 'string') return `${show(value)} is not of type 'string'`;
      if (field.minLength !== undefined && value.length < field.minLength) return `${show(value)} is too short`;
      if (field.maxLength !== undefined && value.length > field.maxLength) return `${show(value)} is too long`;
      if (field.enum && !field.enum.includes(value)) return `${show(value)} is not one of [${field.enum.map(show).join(', ')}]`;
      return undefined;
    case 'integer':
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value) || (field.type === 'integer' && !Number.isInteger(value))) {
        return `${show(value)} is not of type '${field.type}'`;
      }
      if (field.min !== undefined && value < field.min) return `${value} is less than the minimum of ${field.min}`;
      if (field.max !== undefined && value > field.max) return `${value} is greater than the maximum of ${field.max}`;
      return undefined;
    case 'boolean':
      return typeof value === 'boolean' ? undefined : `${show(value)} is not of type 'boolean'`;
    case 'array':
    case 'string[]':
      if (!Array.isArray(value)) return `${show(value)} is not of type 'array'`;
      if (field.maxItems !== undefined && value.length > field.maxItems) return `${show(value)} is too long`;
      if (field.type === 'array') return undefined;
      for (const item of value) {
        if (typeof item !== 'string') return `${show(item)} is not of type 'string'`;
        if (field.itemMinLength !== undefined && item.length < field.itemMinLength) return `${show(item)} is too short`;
        if (field.itemMaxLength !== undefined && item.length > field.itemMaxLength) return `${show(item)} is too long`;
      }
      return undefined;
  }
}

/** A required-header failure as reqparse reports it: 400, no rc. */
export function missingHeader(name: string, help: string): Answer {
  return validationError({ [name]: `${help} Missing required parameter in the HTTP headers` });
}

/**
 * How the horde's keyed POST and PUT handlers open: the JSON body, checked against `spec` when there
 * is one, and only then the `apikey` header (missing: reqparse's 400 with `keyHelp`), because
 * flask-restx validates the body before the handler reads its arguments.
 */
export function keyedBody(
  req: Pick<RouteRequest, 'body' | 'header'>,
  spec: BodySpec | undefined,
  keyHelp: string,
): { body: Record<string, unknown>; key: string } | Answer {
  const body = parseJsonBody(req.body);
  if (isAnswer(body)) return body;
  const invalid = spec && checkBody(body, spec);
  if (invalid) return invalid;
  const key = req.header('apikey');
  if (!key) return missingHeader('apikey', keyHelp);
  return { body, key };
}

/** Whether the bytes start with a RIFF container of form type WEBP ("RIFF" size "WEBP"). */
export function isWebp(bytes: Uint8Array): boolean {
  if (bytes.length < 12) return false;
  const text = Buffer.from(bytes.subarray(0, 12)).toString('latin1');
  return text.startsWith('RIFF') && text.slice(8, 12) === 'WEBP';
}

/** Whether a base64 string decodes to WebP bytes (strict alphabet, so "R2" or junk fails). */
export function isBase64Webp(text: string): boolean {
  const compact = text.replace(/\s+/g, '');
  if (compact.length < 16 || !/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) return false;
  return isWebp(Buffer.from(compact, 'base64'));
}
