import { appendFileSync, existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { redactSecrets, type Logger } from '../core/log';

const MAX_BYTES = 1024 * 1024;
const KEEP = 3;

function rotate(file: string): void {
  if (!existsSync(file) || statSync(file).size < MAX_BYTES) return;
  for (let i = KEEP - 1; i >= 1; i -= 1) {
    if (existsSync(`${file}.${i}`)) renameSync(`${file}.${i}`, `${file}.${i + 1}`);
  }
  renameSync(file, `${file}.1`);
}

function format(detail: unknown): string {
  if (detail === undefined) return '';
  if (detail instanceof Error) return ` ${detail.stack ?? detail.message}${detail.cause ? ` (cause: ${format(detail.cause)})` : ''}`;
  return ` ${typeof detail === 'string' ? detail : inspect(detail, { depth: 4, breakLength: Infinity })}`;
}

/**
 * Logs to `<logDir>/<area>.log`, rotated at 1 MiB (3 kept). Every line passes through
 * `redactSecrets` with the current secrets (the API key), so a key never reaches a file.
 */
export function createFileLogger(logDir: string, area: string, secrets: () => readonly string[], echo?: (line: string) => void): Logger {
  mkdirSync(logDir, { recursive: true });
  const file = join(logDir, `${area}.log`);
  const write = (level: string, message: string, detail: unknown): void => {
    const line = redactSecrets(`${new Date().toISOString()} ${level} [${area}] ${message}${format(detail)}`, secrets());
    try {
      rotate(file);
      appendFileSync(file, `${line}\n`);
    } catch {
      // A full disk must not take the app down with it; the echo below still shows the line.
    }
    echo?.(line);
  };
  return {
    info: (m, d) => write('INFO ', m, d),
    warn: (m, d) => write('WARN ', m, d),
    error: (m, d) => write('ERROR', m, d),
    child: (childArea) => createFileLogger(logDir, childArea, secrets, echo),
  };
}
