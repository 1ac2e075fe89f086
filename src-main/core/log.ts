/** One logger per area (worker, rating, inference, …); adapters write it to rotating files. */
export interface Logger {
  info(message: string, detail?: unknown): void;
  warn(message: string, detail?: unknown): void;
  error(message: string, detail?: unknown): void;
  child(area: string): Logger;
}

// Real horde keys are 22 URL-safe characters (HORDE-PROTOCOL §1.2); catch them even when a
// caller forgot to register the key as a secret, as long as they appear next to their name.
const KEY_NEAR_NAME = /(api[_-]?key["'\s:=]+)([A-Za-z0-9_-]{10,})/gi;

/** Removes every known secret, and anything that looks like an API key, from a log line. */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length >= 4) out = out.split(secret).join('[redacted]');
  }
  return out.replace(KEY_NEAR_NAME, '$1[redacted]');
}

/**
 * The secrets every log line is cleaned of, kept in memory. The app sets them when the key is
 * set or cleared, so writing a line never reads the secret store (safeStorage decrypts on each read).
 */
export interface Redactor {
  redact(text: string): string;
  setSecrets(secrets: readonly string[]): void;
}

/** A {@link Redactor} holding `initial` until told otherwise. */
export function createRedactor(initial: readonly string[] = []): Redactor {
  let secrets = [...initial];
  return {
    redact: (text) => redactSecrets(text, secrets),
    setSecrets(next) {
      secrets = [...next];
    },
  };
}

/** A logger that drops everything: for tests that do not look at logs. */
export function silentLogger(): Logger {
  const logger: Logger = { info() {}, warn() {}, error() {}, child: () => logger };
  return logger;
}
