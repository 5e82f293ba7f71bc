/**
 * `npm start`: the API server on CHILLY_HOST:CHILLY_PORT (127.0.0.1:3000 by default).
 * Prints where it listens and where the token file is, never the token itself.
 */
import { startServer } from './api/start-server.js';
import { loadConfig } from './config.js';

async function main(): Promise<void> {
  const config = loadConfig();
  const server = await startServer({
    config,
    onWarning: (message, cause) => console.warn(`warning: ${message}`, cause instanceof Error ? cause.message : ''),
  });
  console.log(`Chilly Movies API listening on ${server.url} (docs: ${server.url}/docs)`);
  console.log(
    server.tokenFile === undefined
      ? 'API token: the value of CHILLY_TOKEN'
      : `API token file: ${server.tokenFile} (send it as "Authorization: Bearer <token>")`,
  );

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: closing…`);
    // A stuck close must not keep the process alive forever.
    const deadline = setTimeout(() => {
      console.error('Close took longer than 15 s; exiting.');
      process.exit(1);
    }, 15_000);
    deadline.unref();
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error('Close failed:', error instanceof Error ? error.message : error);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(`chilly-movies: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
