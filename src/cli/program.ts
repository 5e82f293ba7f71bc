/**
 * The `chilly` command line: commander parses, the commands in ./commands act, and every outcome
 * becomes an exit code: 0 ok, 1 failure (API errors print their code), 2 usage, 130 Ctrl-C.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { ConfigError } from '../config/config-error.js';
import type { ConfigFlags } from '../config/resolve-config.js';
import { SETTINGS } from '../config/settings.js';
import { DOCUMENTED_FOLDERS } from '../config/user-folders.js';
import { ChillyError } from '../domain/errors.js';
import { type CommandContext, createContext } from './context.js';
import { CliError, type CliIo, EXIT, println } from './io.js';
import { terminalSafe } from './terminal-text.js';

type Action = (ctx: CommandContext, args: string[], options: Record<string, unknown>) => Promise<number> | number;

const EXAMPLES = `
Examples:
  chilly serve                              run the API server (npm start does the same)
  chilly add 'magnet:?xt=urn:btih:…'        add a download and watch it to the end
  chilly add film.torrent --id night-1968 --detach
  chilly ls                                 every download, as a table
  chilly status night-1968 --json           one download, for scripts
  chilly pause night-1968 / chilly resume night-1968 / chilly cancel night-1968 --keep-data
  chilly search blade runner --year 1982   find a film at TMDB (the server needs a TMDB key)
  chilly download 'magnet:?xt=urn:btih:…' -o ~/Videos   no server: download right here
  chilly doctor                             check the setup

Exit codes: 0 ok, 1 failure (API errors print their code, e.g. job_not_found), 2 usage, 130 interrupted.
Settings come from defaults ← config file ← CHILLY_* variables ← flags; \`chilly config\` shows them.`;

/** Runs one command line; never throws and never exits the process (run.ts does that). */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let exitCode: number = EXIT.ok;
  const program = buildProgram(io, (code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    return reportError(io, error);
  }
}

export function buildProgram(io: CliIo, setExitCode: (code: number) => void): Command {
  const program = new Command('chilly')
    .description('Chilly Movies: download films over BitTorrent through the local server, or right here.')
    .version(packageVersion(), '-V, --version')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
      outputError: (text, write) => write(`chilly: ${text.replace(/^error: /, '')}`),
    })
    .showSuggestionAfterError()
    .showHelpAfterError('(`chilly --help` lists commands and options)')
    .addHelpText('after', EXAMPLES);

  program.optionsGroup('Settings (these win over the config file and CHILLY_* variables):');
  program.option('-c, --config <file>', `config file [CHILLY_CONFIG] (default ${DOCUMENTED_FOLDERS.configFile})`);
  for (const spec of SETTINGS) {
    if (spec.flag === undefined) continue;
    const valueName = 'valueName' in spec ? spec.valueName : placeholder(spec.kind);
    program.option(`--${spec.flag} <${valueName}>`, `${spec.description} [${spec.env}]`);
  }

  const action =
    (run: Action) =>
    async (...args: unknown[]): Promise<void> => {
      const command = args[args.length - 1] as Command;
      const options = command.opts();
      const all = command.optsWithGlobals();
      const ctx = createContext(io, {
        json: options.json === true,
        flags: flagsFrom(all),
        configFile: typeof all.config === 'string' ? all.config : undefined,
      });
      setExitCode(await run(ctx, args.slice(0, -2) as string[], options));
    };
  // Each command's module loads when it runs: `chilly ls` need not load the engine or the server.
  const jobs = () => import('./commands/jobs.js');
  const json = (command: Command): Command => command.option('--json', 'print JSON (for scripts)');

  program.commandsGroup('Server:');
  program
    .command('serve')
    .description('run the API server until Ctrl-C (what `npm start` runs)')
    .action(action(async (ctx) => (await import('./commands/serve.js')).runServe(ctx)));

  program.commandsGroup('Downloads on the server:');
  json(
    program
      .command('add')
      .argument('<source>', 'magnet URI, info-hash, .torrent file or http(s) URL of one')
      .description('add a download, then show its progress until it is done')
      .option('--id <id>', 'job id (default: from the torrent name)')
      .option('--direct', 'the http(s) URL is the film itself (a direct download), not a .torrent')
      .option('-d, --detach', 'return once added; do not follow the progress'),
  ).action(
    action(async (ctx, [source], options) => (await import('./commands/add.js')).runAdd(ctx, source ?? '', options)),
  );
  json(
    program
      .command('ls')
      .alias('list')
      .description('list downloads, newest first')
      .option('-s, --status <list>', 'only these states, comma-separated (e.g. downloading,paused)')
      .option('-n, --limit <count>', 'at most this many'),
  ).action(action(async (ctx, _args, options) => (await jobs()).runList(ctx, options)));
  json(program.command('status').argument('<id>', 'job id').description("one download's state and progress")).action(
    action(async (ctx, [id]) => (await jobs()).runStatus(ctx, id ?? '')),
  );
  json(program.command('pause').argument('<id>', 'job id').description('pause a download')).action(
    action(async (ctx, [id]) => (await jobs()).runPause(ctx, id ?? '')),
  );
  json(program.command('resume').argument('<id>', 'job id').description('resume a paused or failed download')).action(
    action(async (ctx, [id]) => (await jobs()).runResume(ctx, id ?? '')),
  );
  const cancel = program
    .command('cancel')
    .argument('<id>', 'job id')
    .description('cancel a download and forget it (files: kept when complete, deleted otherwise)')
    .addOption(new Option('--keep-data', 'keep the downloaded files').conflicts('deleteData'))
    .option('--delete-data', 'delete the downloaded files, even of a complete download');
  json(cancel).action(action(async (ctx, [id], options) => (await jobs()).runCancel(ctx, id ?? '', options)));
  json(
    program
      .command('peers')
      .argument('<id>', 'job id')
      .description("a running download's peers: address, client, how much they have, speeds"),
  ).action(action(async (ctx, [id]) => (await jobs()).runPeers(ctx, id ?? '')));
  json(
    program
      .command('library')
      .description('the library folder for Plex, Jellyfin and Kodi (CHILLY_LIBRARY_DIR): each film and its files'),
  ).action(action(async (ctx) => (await jobs()).runLibrary(ctx)));
  json(
    program
      .command('trackers')
      .argument('<id>', 'job id')
      .description("a download's trackers (status, last and next announce, seeders, leechers); add or remove some")
      .option('--add <url...>', 'add these trackers (http://, https:// or udp://)')
      .option('--remove <url...>', 'stop using these trackers'),
  ).action(action(async (ctx, [id], options) => (await jobs()).runTrackers(ctx, id ?? '', options)));
  json(
    program
      .command('recheck')
      .argument('<id>', 'job id')
      .description('check every piece of a download on disk again; damaged ones are downloaded again'),
  ).action(action(async (ctx, [id]) => (await jobs()).runRecheck(ctx, id ?? '')));
  json(
    program
      .command('limit')
      .description('show the speed limits, or change them at once (kept across restarts)')
      .option('--down <KiB/s>', 'all downloads together at most this fast (0: no limit)')
      .option('--up <KiB/s>', 'all uploads together at most this fast (0: no limit)')
      .option('--job <id>', "one download's own limits instead (under the global ones)"),
  ).action(action(async (ctx, _args, options) => (await jobs()).runLimit(ctx, options)));
  json(
    program
      .command('move')
      .argument('<id>', 'job id')
      .argument('<where>', 'top, up, down or bottom')
      .description('move a queued download in the queue (the order is kept across restarts)'),
  ).action(action(async (ctx, [id, where]) => (await jobs()).runMove(ctx, id ?? '', where ?? '')));
  json(
    program
      .command('move-data')
      .argument('<id>', 'job id')
      .argument('<folder>', 'the folder to move its data into (inside the media root or CHILLY_MOVE_ROOTS)')
      .description("move a download's data to another folder (renamed, or copied and verified across disks)"),
  ).action(action(async (ctx, [id, folder]) => (await jobs()).runMoveData(ctx, id ?? '', folder ?? '')));
  json(
    program
      .command('seed')
      .argument('<id>', 'job id')
      .description('upload a completed download again (under the seeding policy), or stop with --stop')
      .option('--stop', 'stop uploading now')
      .option('--ratio <ratio>', "this download's own ratio limit (0: no seeding); with --minutes, its own policy")
      .option('--minutes <minutes>', 'its own time limit in minutes (0: no seeding)')
      .option('--global-policy', 'use the global seeding policy again'),
  ).action(action(async (ctx, [id], options) => (await jobs()).runSeed(ctx, id ?? '', options)));

  program.commandsGroup('Movies (TMDB, through the server):');
  json(
    program
      .command('search')
      .argument('<title...>', "the film's title (quotes optional)")
      .description("search TMDB for a film by title, with the server's TMDB key")
      .option('--year <year>', 'only films released this year')
      .option('--page <number>', 'page of results (20 a page)'),
  ).action(
    // A variadic argument arrives as one array: `chilly search blade runner` searches "blade runner".
    action(async (ctx, args, options) =>
      (await import('./commands/search.js')).runSearch(ctx, args.flat().join(' '), options),
    ),
  );

  program.commandsGroup('Without a server:');
  json(
    program
      .command('download')
      .argument('<source>', 'magnet URI, info-hash, .torrent file or http(s) URL of one')
      .description('download right here, without a server; Ctrl-C pauses and keeps the data')
      .option('-o, --out <dir>', 'where to save (a folder per download inside it)', '.')
      .option('--id <id>', 'name of the folder inside --out (default: from the torrent name)'),
  ).action(
    action(async (ctx, [source], options) =>
      (await import('./commands/download.js')).runDownload(ctx, source ?? '', options),
    ),
  );

  program.commandsGroup('Setup:');
  json(program.command('token').description('print the API token (for curl and scripts)')).action(
    action(async (ctx) => (await import('./commands/info.js')).runToken(ctx)),
  );
  json(
    program.command('config').description('print the effective settings (secrets masked) and where each comes from'),
  ).action(action(async (ctx) => (await import('./commands/info.js')).runConfig(ctx)));
  program
    .command('open')
    .description('open the web app in your browser, signed in (a single-use link, valid 60 s)')
    .option('--print', 'print the sign-in link instead of opening it (one line, the URL only)')
    .action(action(async (ctx, _args, options) => (await import('./commands/open.js')).runOpen(ctx, options)));
  json(program.command('doctor').description('check the data folder, port, disk space, engine and TMDB key')).action(
    action(async (ctx) => (await import('./commands/doctor.js')).runDoctor(ctx)),
  );
  return program;
}

/** Commander's camelCased option values → raw flag values by setting key. */
function flagsFrom(options: Record<string, unknown>): ConfigFlags {
  const flags: ConfigFlags = {};
  for (const spec of SETTINGS) {
    if (spec.flag === undefined) continue;
    const value = options[spec.flag.replace(/-([a-z])/g, (_match, letter: string) => letter.toUpperCase())];
    if (typeof value === 'string') flags[spec.key] = value;
  }
  return flags;
}

function placeholder(kind: string): string {
  if (kind === 'integer' || kind === 'decimal') return 'number';
  if (kind === 'list') return 'list';
  if (kind === 'boolean') return 'on|off';
  if (kind === 'path') return 'dir';
  if (kind === 'network') return 'public|loopback';
  if (kind === 'engine') return 'webtorrent|qbittorrent|transmission';
  if (kind === 'pathMap') return 'remote=local';
  if (kind === 'logLevel') return 'level';
  if (kind === 'logFormat') return 'auto|text|json';
  return kind === 'url' ? 'url' : 'value';
}

/**
 * One line on stderr per failure. Messages carry a server's words, a torrent's name or a path:
 * terminalSafe keeps them to one line with no control sequence.
 */
function reportError(io: CliIo, error: unknown): number {
  if (error instanceof CommanderError) {
    // Commander has printed its own message (or the help) already.
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return EXIT.ok;
    return EXIT.usage;
  }
  const say = (message: string): void => println(io.stderr, `chilly: ${terminalSafe(message)}`);
  if (error instanceof ConfigError) {
    say(error.message);
    return error.source === 'flag' ? EXIT.usage : EXIT.failure;
  }
  if (error instanceof CliError) {
    say(`${error.code === undefined ? '' : `${error.code}: `}${error.message}`);
    return error.exitCode;
  }
  if (error instanceof ChillyError) {
    say(`${error.code}: ${error.message}`);
    return EXIT.failure;
  }
  say(error instanceof Error ? error.message : String(error));
  return EXIT.failure;
}

function packageVersion(): string {
  // src/cli/ under tsx, dist/src/cli/ once built.
  for (const candidate of ['../../package.json', '../../../package.json']) {
    try {
      const manifest = JSON.parse(readFileSync(new URL(candidate, import.meta.url), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (manifest.name === 'chilly-movies' && manifest.version !== undefined) return manifest.version;
    } catch {
      // Not this one: try the next candidate.
    }
  }
  return '0.0.0';
}
