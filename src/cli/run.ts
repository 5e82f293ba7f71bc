/**
 * The one place the CLI touches the process: reads `process.env` (once), wires Ctrl-C, and
 * exits with the command's code. `main.ts` (the `chilly` bin) and `npm start` both come here.
 */
import { type CliIo, EXIT } from './io.js';
import { runCli } from './program.js';

/** After the command is done, give stragglers (sockets, timers) this long before exiting anyway. */
const EXIT_GRACE_MS = 3_000;

export function processIo(): CliIo {
  const handlers = new Set<(signal: NodeJS.Signals) => void>();
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    signals += 1;
    // A second Ctrl-C means "now": do not wait for a clean stop.
    if (signals > 1) process.exit(EXIT.interrupted);
    for (const handler of [...handlers]) handler(signal);
  };
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    onInterrupt(handler) {
      if (handlers.size === 0) {
        signals = 0;
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
      }
      handlers.add(handler);
      return () => {
        handlers.delete(handler);
        if (handlers.size === 0) {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
        }
      };
    },
  };
}

export function runFromProcess(argv: readonly string[]): void {
  // `chilly ls | head` closes the pipe early: that is not an error.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(process.exitCode ?? EXIT.ok);
      throw error;
    });
  }
  runCli(argv, processIo()).then(
    (code) => {
      process.exitCode = code;
      setTimeout(() => process.exit(code), EXIT_GRACE_MS).unref();
    },
    (error: unknown) => {
      process.stderr.write(`chilly: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(EXIT.failure);
    },
  );
}
