/**
 * `chilly serve` (and `npm start`): the API server until SIGINT/SIGTERM. Prints where it listens
 * and where the token file is, never the token itself.
 */
import { startServer } from '../../app.js';
import type { CommandContext } from '../context.js';
import { CliError, EXIT, println } from '../io.js';
import { terminalSafe } from '../terminal-text.js';

/** A stuck close must not keep the process alive forever. */
const CLOSE_DEADLINE_MS = 15_000;

export async function runServe(ctx: CommandContext): Promise<number> {
  const { io } = ctx;
  const { config, file } = ctx.resolved();
  let signalled: (signal: NodeJS.Signals) => void = () => undefined;
  const stopped = new Promise<NodeJS.Signals>((resolve) => {
    signalled = resolve;
  });
  // Listen before starting: a Ctrl-C during start-up still closes what was opened.
  const stopListening = io.onInterrupt((signal) => signalled(signal));
  try {
    const server = await startServer({
      config,
      // Engine warnings carry a remote tracker's words: nothing raw reaches the terminal.
      onWarning: (message, cause) =>
        println(io.stderr, terminalSafe(`warning: ${message}${cause instanceof Error ? ` ${cause.message}` : ''}`)),
    });
    println(io.stdout, `Chilly Movies API listening on ${server.url} (docs: ${server.url}/docs)`);
    println(
      io.stdout,
      server.tokenFile === undefined
        ? 'API token: the value of CHILLY_TOKEN'
        : `API token file: ${server.tokenFile} (send it as "Authorization: Bearer <token>"; \`chilly token\` prints it)`,
    );
    if (file?.loaded === true) println(io.stdout, `Config file: ${file.path}`);
    println(io.stdout, `Data folder: ${config.dataDir}; downloads in ${config.mediaRoot}; network: ${config.network}`);

    const signal = await stopped;
    println(io.stdout, `${signal}: closing…`);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () => reject(new CliError(`Close took longer than ${CLOSE_DEADLINE_MS / 1000} s; exiting.`)),
        CLOSE_DEADLINE_MS,
      );
    });
    try {
      await Promise.race([server.close(), deadline]);
    } finally {
      clearTimeout(timer);
    }
    return EXIT.ok;
  } finally {
    stopListening();
  }
}
