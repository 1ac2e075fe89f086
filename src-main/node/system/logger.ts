import { appendFileSync, existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import type { Logger, Redactor } from '../../core/log';

const MAX_BYTES = 1024 * 1024;
const KEEP = 3;

function rotate(file: string): void {
  if (!existsSync(file) || statSync(file).size < MAX_BYTES) return;
  for (let i = KEEP - 1; i >= 1; i -= 1) {
    if (existsSync(`${file}.${i}`)) renameSync(`${file}.${i}`, `${file}.${i + 1}`);
  }
  renameSync(file, `${file}.1`);
}

// Causes are followed a few levels deep only: a cause chain may loop back on itself.
function format(detail: unknown, depth = 0): string {
  if (detail === undefined) return '';
  if (detail instanceof Error)
    return ` ${detail.stack ?? detail.message}${detail.cause && depth < 4 ? ` (cause: ${format(detail.cause, depth + 1)})` : ''}`;
  return ` ${typeof detail === 'string' ? detail : inspect(detail, { depth: 4, breakLength: Infinity })}`;
}

/**
 * Logs to `<logDir>/<area>.log`, rotated at 1 MiB (3 kept). Every line, detail, error stack and
 * cause included, passes through `redactor` (which holds the API key) before it reaches the file
 * or the echo, so a key never reaches either.
 */
export function createFileLogger(logDir: string, area: string, redactor: Pick<Redactor, 'redact'>, echo?: (line: string) => void): Logger {
  mkdirSync(logDir, { recursive: true });
  const file = join(logDir, `${area}.log`);
  const write = (level: string, message: string, detail: unknown): void => {
    const line = redactor.redact(`${new Date().toISOString()} ${level} [${area}] ${message}${format(detail)}`);
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
    child: (childArea) => createFileLogger(logDir, childArea, redactor, echo),
  };
}
