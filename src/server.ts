/**
 * `node dist/src/server.js`: the API server, exactly as `chilly serve` and `npm start` run it
 * (one code path: src/cli/commands/serve.ts). Configuration comes from the config file,
 * CHILLY_* variables and any flags given here (`node dist/src/server.js --port 3001`).
 */
import { runFromProcess } from './cli/run.js';

runFromProcess(['serve', ...process.argv.slice(2)]);
