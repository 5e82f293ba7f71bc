/**
 * The one place the CLI touches the process: reads `process.env` (once), wires Ctrl-C, and
 * exits with the command's code. `main.ts` (the `chilly` bin) and `npm start` both come here.
 */
import { writeSync } from 'node:fs';
import { type CliIo, EXIT } from './io.js';
import { runCli } from './program.js';
import { terminalSafe } from './terminal-text.js';

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
  let outputLost = false;
  for (const [name, stream] of [
    ['stdout', process.stdout],
    ['stderr', process.stderr],
  ] as const) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      // `chilly ls | head` closes the pipe early: that is not an error.
      if (error.code === 'EPIPE') process.exit(process.exitCode ?? EXIT.ok);
      // A full disk (ENOSPC) or a failing device under a redirected output: what was printed is
      // lost, but the command carries on (a server keeps serving, and still closes cleanly), and
      // exits 1 if it would have exited 0, so that a script does not take the output as complete.
      if (outputLost) return;
      outputLost = true;
      if (name === 'stdout') {
        try {
          writeSync(2, `chilly: cannot write to stdout (${terminalSafe(error.message)}); output is lost.\n`);
        } catch {
          // stderr cannot take it either.
        }
      }
    });
  }
  runCli(argv, processIo()).then(
    (result) => {
      const code = result === EXIT.ok && outputLost ? EXIT.failure : result;
      process.exitCode = code;
      setTimeout(() => process.exit(code), EXIT_GRACE_MS).unref();
    },
    (error: unknown) => {
      process.stderr.write(`chilly: ${terminalSafe(error instanceof Error ? error.message : String(error))}\n`);
      process.exit(EXIT.failure);
    },
  );
}
