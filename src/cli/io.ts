/**
 * What a command may touch of the outside world, handed in so tests can run commands in-process:
 * output streams, the environment (read once by run.ts), the working folder and Ctrl-C.
 */
import type { Environment } from '../config/environment.js';
import { terminalSafeJson } from './terminal-text.js';

export interface OutputStream {
  write(text: string): boolean;
  isTTY?: boolean;
  columns?: number;
}

export interface CliIo {
  stdout: OutputStream;
  stderr: OutputStream;
  env: Environment;
  cwd: string;
  /** Calls `handler` on SIGINT/SIGTERM until the returned function is called. */
  onInterrupt(handler: (signal: NodeJS.Signals) => void): () => void;
}

export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  /** The shells' convention for "stopped by Ctrl-C" (128 + SIGINT). */
  interrupted: 130,
} as const;

/** A failure the CLI explains itself: the message is for the user, the exit code for scripts. */
export class CliError extends Error {
  override readonly name = 'CliError';
  readonly exitCode: number;
  /** An error code from the API's catalogue, printed before the message when known. */
  readonly code: string | undefined;

  constructor(message: string, options: { exitCode?: number; code?: string; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.exitCode = options.exitCode ?? EXIT.failure;
    this.code = options.code;
  }
}

export function usageError(message: string, code?: string): CliError {
  return new CliError(message, { exitCode: EXIT.usage, ...(code === undefined ? {} : { code }) });
}

export function println(stream: OutputStream, text = ''): void {
  stream.write(`${text}\n`);
}

/** Exact JSON, with the characters a terminal would act on written as `\uXXXX` (see terminal-text.ts). */
export function printJson(stream: OutputStream, value: unknown): void {
  stream.write(`${terminalSafeJson(value)}\n`);
}

/** Colours only for a terminal, and never when NO_COLOR is set or TERM is dumb (no-color.org). */
export function colorsEnabled(stream: OutputStream, env: Environment): boolean {
  return stream.isTTY === true && (env.NO_COLOR ?? '') === '' && env.TERM !== 'dumb';
}

export interface Style {
  green(text: string): string;
  red(text: string): string;
  yellow(text: string): string;
  dim(text: string): string;
  bold(text: string): string;
}

export function createStyle(enabled: boolean): Style {
  const wrap =
    (open: number, close: number) =>
    (text: string): string =>
      enabled ? `\u001b[${open}m${text}\u001b[${close}m` : text;
  return { green: wrap(32, 39), red: wrap(31, 39), yellow: wrap(33, 39), dim: wrap(2, 22), bold: wrap(1, 22) };
}
