/**
 * The `chilly` program in-process (runCli) in a fake terminal: what it writes to stdout and stderr
 * is kept as text, the environment and working folder are the test's, and Ctrl-C never comes.
 * The built command as a child process: cli-run.ts.
 */
import type { CliIo, OutputStream } from '../../src/cli/io.js';
import { runCli } from '../../src/cli/program.js';
import type { Environment } from '../../src/config/environment.js';

export interface FakeTerminalOptions {
  env: Environment;
  cwd: string;
  /** What stdout says of itself (`isTTY`, `columns`); a plain stream that says nothing when left out. */
  stdout?: Pick<OutputStream, 'isTTY' | 'columns'>;
}

export interface FakeTerminalRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `chilly <args>` to the end in-process; resolves with its exit code and everything it printed. */
export async function runCliInFakeTerminal(
  args: readonly string[],
  options: FakeTerminalOptions,
): Promise<FakeTerminalRun> {
  const out = { stdout: '', stderr: '' };
  const io: CliIo = {
    stdout: {
      ...options.stdout,
      write: (text) => {
        out.stdout += text;
        return true;
      },
    },
    stderr: {
      write: (text) => {
        out.stderr += text;
        return true;
      },
    },
    env: options.env,
    cwd: options.cwd,
    onInterrupt: () => () => undefined,
  };
  const code = await runCli(args, io);
  return { code, ...out };
}
