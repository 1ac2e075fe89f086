import type { z } from 'zod';
import { contract, isCommandName, type Handlers } from './contract';
import { fail, ok, UserFacingError, type Result } from './result';

/** Turns zod issues into `{ 'dotted.path': 'message' }` for forms. */
export function fieldErrors(error: z.ZodError): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const issue of error.issues) {
    const key = issue.path.map(String).join('.') || '(request)';
    fields[key] ??= issue.message;
  }
  return fields;
}

/**
 * The single entry every transport calls: checks the command exists, parses the request with
 * its schema, runs the handler and returns a Result. Nothing thrown escapes; unexpected errors
 * reach `onInternalError` for the log and the caller gets a plain sentence.
 */
export async function dispatch(
  handlers: Handlers,
  name: unknown,
  payload: unknown,
  onInternalError: (name: string, error: unknown) => void,
): Promise<Result<unknown>> {
  if (!isCommandName(name)) return fail('unknown-command', `HordeDesk has no command called ${JSON.stringify(String(name)).slice(0, 80)}.`);
  const spec = contract.commands[name];
  const parsed = spec.request.safeParse(payload ?? {});
  if (!parsed.success) {
    const fields = fieldErrors(parsed.error);
    const first = Object.entries(fields)[0];
    return fail('invalid-request', first ? `${first[0]}: ${first[1]}` : 'The request was not valid.', fields);
  }
  try {
    const handler = handlers[name] as (request: unknown) => Promise<unknown>;
    const value = await handler(parsed.data);
    const checked = spec.response.safeParse(value);
    if (!checked.success) {
      onInternalError(name, checked.error);
      return fail('internal', `HordeDesk produced an answer to ${name} that breaks its own contract.`);
    }
    return ok(checked.data);
  } catch (error) {
    if (error instanceof UserFacingError) return fail(error.code, error.message, error.fields);
    onInternalError(name, error);
    return fail('internal', `Something went wrong while running ${name}. Details are in the log.`);
  }
}
