/** The outcome of every command crossing a transport: never a thrown error. */
export type Result<T> = { ok: true; value: T } | { ok: false; error: CommandError };

/** What the renderer learns when a command fails: a stable code and a sentence for the user. */
export interface CommandError {
  code: string;
  message: string;
  /** Field-level problems (settings validation), keyed by dotted path. */
  fields?: Record<string, string>;
}

/** An error whose message is meant for the user; `code` is stable for the UI and tests. */
export class UserFacingError extends Error {
  readonly code: string;
  readonly fields: Record<string, string> | undefined;
  constructor(code: string, message: string, options?: { cause?: unknown; fields?: Record<string, string> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'UserFacingError';
    this.code = code;
    this.fields = options?.fields;
  }
}

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

export function fail(code: string, message: string, fields?: Record<string, string>): Result<never> {
  return { ok: false, error: fields ? { code, message, fields } : { code, message } };
}
