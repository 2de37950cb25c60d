import { randomBytes } from 'node:crypto';
import type { Logger } from './logger.js';

/**
 * Errors people see say what failed and what to do, never the exception's own text (a stack of
 * library wording means nothing to an agent, and may show internals). The full error goes to the
 * log under a short id that the message quotes, so whoever runs the bridge finds it with one grep.
 */
export function newErrorId(): string {
  return `E-${randomBytes(4).toString('hex').toUpperCase()}`;
}

/**
 * Logs the error at error level with an error id (a new one unless given: the same failure of many
 * items may share one, so people see it once); returns the id.
 */
export function logErrorWithId(
  logger: Logger,
  error: unknown,
  message: string,
  context: object = {},
  errorId: string = newErrorId(),
): string {
  logger.error(
    {
      ...context,
      errorId,
      err: error instanceof Error ? { message: error.message, stack: error.stack } : String(error),
    },
    message,
  );
  return errorId;
}

/** How a message to a person cites an error id. */
export function errorIdNote(errorId: string): string {
  return `(error id \`${errorId}\`)`;
}

/**
 * A message for the person whose action failed: what failed, what to do next, and the error id of
 * the log line written here.
 */
export function userFacingError(
  logger: Logger,
  error: unknown,
  text: { failed: string; next: string; log: string; context?: object },
): string {
  const errorId = logErrorWithId(logger, error, text.log, text.context);
  return `:warning: ${text.failed} ${text.next} ${errorIdNote(errorId)}`;
}
