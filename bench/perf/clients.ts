/**
 * Leecher and seeder launchers. Every client runs in a process of its own, listens on and
 * connects from 127.0.0.1 only, TCP only, with DHT, LSD, UPnP, NAT-PMP and (where it has a switch)
 * PEX off. A launcher returns when the client has been handed the torrent; `completed` resolves
 * at the client's own verified completion (every piece checked against the torrent's SHA-1).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isolatedEnv } from '../../tests/helpers/cli-run.js';
import { freeLoopbackPort } from '../../tests/helpers/ports.js';
import { Managed, pollUntil } from './spawn.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(HERE, '..', '..');
const PYTHON = '/usr/bin/python3'; // python3-libtorrent imports only there (DESIGN.md)
const LT_PEER = path.join(HERE, 'lt_peer.py');
export const CHILLY_MAIN = path.join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');
/** Where the harness bundles webtorrent-peer.ts by default: node_modules/ above it resolves the packages. */
export const DEFAULT_BUNDLE_DIR = path.join(REPO_ROOT, 'node_modules', '.cache', 'chilly-perf');

export interface RunContext {
  torrentPath: string;
  infoHash: string;
  /** Empty folder for the client's data. */
  outDir: string;
  /** Empty folder for the client's config, logs and scripts. */
  workDir: string;
  timeoutMs: number;
  /** The seeder of this run, for clients that take no tracker peers on 127.0.0.0/8. */
  seeder: SeederHandle;
  /** Extra node flags for our own processes (e.g. --cpu-prof). */
  nodeArgs: readonly string[];
  /** Extra environment variables for our own processes (e.g. MALLOC_ARENA_MAX). */
  nodeEnv: Readonly<Record<string, string>>;
  /** webtorrent-peer.ts, bundled. */
  peerBundle: string;
  /** Extra options for our leecher (see webtorrent-peer.ts). */
  torrentOpts?: string;
  clientOpts?: string;
  /** Every JSON line our fixture or lt_peer.py prints (progress events such as `first-byte`, `prefix`). */
  onEvent?: (event: JsonEvent) => void;
  /** Extra command-line arguments for our fixture and lt_peer.py (e.g. `--report-prefix N`). */
  extraArgs?: readonly string[];
  /**
   * Time our fixture's and lt_peer.py's events (added, complete) by their arrival in this process
   * rather than by the `t` they carry: one monotonic clock for everything, where the wall clock the
   * children stamp with can step during a long run (it did here, by 12 s).
   */
  harnessClock?: boolean;
}

export interface StartedLeecher {
  process: Managed;
  /** Epoch ms when the client was handed the torrent. */
  startedAt: number;
  /** Epoch ms of verified completion; rejects on failure. */
  completed: Promise<number>;
  /** Where the torrent's paths start, for the byte-for-byte check. */
  contentRoot: string;
  /** Extra figures the client reported about itself. */
  extra: Record<string, unknown>;
  stop(): Promise<void>;
}

export interface LeecherSpec {
  id: string;
  label: string;
  /** Why it cannot run here, or undefined when it can. */
  unavailable(): string | undefined;
  start(ctx: RunContext): Promise<StartedLeecher>;
}

export interface SeederHandle {
  id: string;
  label: string;
  port: number;
  process: Managed;
  /** Opens a connection to a peer listening on 127.0.0.1:port (libtorrent seeder only). */
  connect?(port: number): void;
  stop(): Promise<void>;
}

/** A native client's run: it writes straight into outDir, reports nothing of its own and stops on SIGTERM. */
function nativeLeecherStarted(managed: Managed, completed: Promise<number>, ctx: RunContext): StartedLeecher {
  return {
    process: managed,
    startedAt: managed.spawnedAt,
    completed,
    contentRoot: ctx.outDir,
    extra: {},
    stop: () => managed.stop(),
  };
}

function which(binary: string): string | undefined {
  const found = spawnSync('sh', ['-c', `command -v ${binary}`], { encoding: 'utf8' });
  const out = found.stdout.trim();
  return found.status === 0 && out !== '' ? out : undefined;
}

function pythonLibtorrent(): string | undefined {
  if (!existsSync(PYTHON)) return `${PYTHON} missing`;
  const probe = spawnSync(PYTHON, ['-c', 'import libtorrent'], { stdio: 'pipe' });
  return probe.status === 0 ? undefined : 'python3-libtorrent missing (apt-get install -y python3-libtorrent)';
}

export interface JsonEvent {
  event: string;
  /** Epoch ms, by the child's clock. */
  t: number;
  /** Epoch ms when this process read the line, by its own monotonic clock. */
  receivedAt: number;
  [key: string]: unknown;
}

/** A child's JSON line as an event, stamped with when the harness read it; undefined for any other line. */
export function jsonEvent(line: string): JsonEvent | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    return { ...(JSON.parse(line) as JsonEvent), receivedAt: performance.timeOrigin + performance.now() };
  } catch {
    return undefined;
  }
}

function deferred<T>() {
  let resolve: (value: T) => void = () => undefined;
  let reject: (error: Error) => void = () => undefined;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined); // a rejection nobody awaits is not a crash
  return { promise, resolve, reject };
}

/**
 * A process speaking the JSON-lines protocol of lt_peer.py and webtorrent-peer.ts: `added` gives
 * the time it was handed the torrent, `final` is the `complete` (leecher) or `ready` (seeder) event.
 */
function jsonPeer(
  name: string,
  command: string,
  args: string[],
  finalEvent: 'complete' | 'ready',
  env?: NodeJS.ProcessEnv,
  onEvent?: (event: JsonEvent) => void,
  harnessClock = false,
) {
  const added = deferred<number>();
  const final = deferred<JsonEvent>();
  const failAll = (error: Error): void => {
    added.reject(error);
    final.reject(error);
  };
  const managed = new Managed(name, command, args, {
    ...(env === undefined ? {} : { env }),
    onLine: (line) => {
      const event = jsonEvent(line);
      if (event === undefined) return;
      if (harnessClock) event.t = event.receivedAt;
      onEvent?.(event);
      if (event.event === 'added') added.resolve(event.t);
      else if (event.event === finalEvent) final.resolve(event);
      else if (event.event === 'error') failAll(new Error(`${name}: ${String(event.message)}`));
    },
  });
  void managed.exited.then(() => failAll(new Error(`${name} exited (${managed.exitStatus}) early`)));
  return { managed, added: added.promise, final: final.promise };
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result after ${Math.round(ms / 1000)} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** `promise` within `ms`; otherwise `managed` is stopped and the error carries its output. */
async function withinOrStop<T>(managed: Managed, promise: Promise<T>, ms: number, what: string): Promise<T> {
  try {
    return await withTimeout(promise, ms, what);
  } catch (error) {
    await managed.stop();
    throw new Error(`${(error as Error).message}\n${managed.log()}`);
  }
}

// ---------------------------------------------------------------- our client (fixture process)

/** A variant of our leecher, to compare engine settings side by side in one interleaved run. */
export interface OurVariant {
  nodeArgs?: string[];
  nodeEnv?: Record<string, string>;
  /** JSON: extra WebTorrent add() options. */
  torrentOpts?: string;
  /** JSON: extra WebTorrent client options (plain engine only). */
  clientOpts?: string;
  /** webtorrent-peer.ts bundled elsewhere, e.g. next to a patched engine (bench/perf/make-overlay.sh). */
  peerBundle?: string;
}

export function ourLeecher(
  id: string,
  label: string,
  engine: 'downloader' | 'plain',
  variant: OurVariant = {},
): LeecherSpec {
  return {
    id,
    label,
    unavailable: () => undefined,
    async start(ctx) {
      const torrentOpts = variant.torrentOpts ?? ctx.torrentOpts;
      const clientOpts = engine === 'plain' ? (variant.clientOpts ?? ctx.clientOpts) : undefined;
      const args = [
        ...ctx.nodeArgs,
        ...(variant.nodeArgs ?? []),
        variant.peerBundle ?? ctx.peerBundle,
        'leech',
        '--engine',
        engine,
        '--torrent',
        ctx.torrentPath,
        '--out',
        ctx.outDir,
        '--max-seconds',
        String(Math.ceil(ctx.timeoutMs / 1000) + 60),
        ...(torrentOpts === undefined ? [] : ['--torrent-opts', torrentOpts]),
        ...(clientOpts === undefined ? [] : ['--client-opts', clientOpts]),
        ...(ctx.extraArgs ?? []),
      ];
      const env = { ...process.env, ...ctx.nodeEnv, ...variant.nodeEnv };
      const peer = jsonPeer(id, process.execPath, args, 'complete', env, ctx.onEvent, ctx.harnessClock);
      const extra: Record<string, unknown> = {};
      const startedAt = await withinOrStop(peer.managed, peer.added, 30_000, `${id} start`);
      return {
        process: peer.managed,
        startedAt,
        completed: peer.final.then((event) => {
          Object.assign(extra, event);
          return event.t;
        }),
        contentRoot: path.join(ctx.outDir, 'perf'),
        extra,
        // A clean exit, so a --cpu-prof profile gets written.
        stop: () => peer.managed.stop({ quitFirstMs: 15_000 }),
      };
    },
  };
}

// ------------------------------------------------------------------------- chilly download

const chillyLeecher: LeecherSpec = {
  id: 'chilly',
  label: '`chilly download` (CLI, dist/)',
  unavailable() {
    if (!existsSync(CHILLY_MAIN)) return 'dist/src/cli/main.js not built (npm run build)';
    const help = spawnSync(process.execPath, [CHILLY_MAIN, 'download', '--help'], { stdio: 'pipe', timeout: 20_000 });
    return help.status === 0 ? undefined : '`chilly download --help` failed in dist/';
  },
  async start(ctx) {
    const home = path.join(ctx.workDir, 'home');
    await mkdir(home, { recursive: true });
    const config = path.join(ctx.workDir, 'chilly-config.json');
    await writeFile(config, `${JSON.stringify({ network: 'loopback' })}\n`);
    const env = isolatedEnv(home, ctx.nodeEnv);
    const completed = deferred<number>();
    const settledAsCompleted = (text: string): boolean => /"status":\s*"completed"/.test(text);
    let stdout = '';
    const managed = new Managed(
      'chilly',
      process.execPath,
      [
        ...ctx.nodeArgs,
        CHILLY_MAIN,
        '--config',
        config,
        '--network',
        'loopback',
        'download',
        ctx.torrentPath,
        '-o',
        ctx.outDir,
        '--id',
        'perf',
        '--json',
      ],
      {
        env,
        // --json prints the job once it has settled, before the engine is torn down.
        onLine: (line) => {
          stdout += line;
          if (settledAsCompleted(stdout)) completed.resolve(performance.timeOrigin + performance.now());
        },
      },
    );
    void managed.exited.then(() => {
      if (settledAsCompleted(managed.log())) completed.resolve(performance.timeOrigin + performance.now());
      else completed.reject(new Error(`chilly exited (${managed.exitStatus}) without completing`));
    });
    return {
      process: managed,
      startedAt: managed.spawnedAt,
      completed: completed.promise,
      contentRoot: path.join(ctx.outDir, 'perf'),
      extra: {},
      // It exits by itself once done; a clean exit also writes a --cpu-prof profile.
      stop: () => managed.stop({ quitFirstMs: 15_000 }),
    };
  },
};

// ---------------------------------------------------------------------------------- aria2c

const aria2Leecher: LeecherSpec = {
  id: 'aria2',
  label: 'aria2c 1.36',
  unavailable: () => (which('aria2c') === undefined ? 'aria2c missing (apt-get install -y aria2)' : undefined),
  async start(ctx) {
    const doneFile = path.join(ctx.workDir, 'aria2.done');
    const hook = path.join(ctx.workDir, 'on-complete.sh');
    await writeFile(hook, `#!/bin/sh\n: > '${doneFile}'\n`);
    await chmod(hook, 0o755);
    const port = await freeLoopbackPort();
    const managed = new Managed(
      'aria2',
      'aria2c',
      [
        '--no-conf=true',
        '--enable-dht=false',
        '--enable-dht6=false',
        '--bt-enable-lpd=false',
        '--enable-peer-exchange=false',
        '--interface=127.0.0.1',
        '--disable-ipv6=true',
        `--listen-port=${port}`,
        '--seed-ratio=0.0',
        '--seed-time=30', // minutes; the harness stops it at completion (backstop only)
        `--stop-with-process=${process.pid}`,
        // aria2's docs recommend falloc on ext4; the default (prealloc) writes the file twice.
        '--file-allocation=falloc',
        '--auto-save-interval=0',
        '--summary-interval=0',
        '--show-console-readout=false',
        '--enable-color=false',
        '--console-log-level=warn',
        `--on-bt-download-complete=${hook}`, // after the last piece is verified, before seeding
        `--dir=${ctx.outDir}`,
        ctx.torrentPath,
      ],
      { cwd: ctx.workDir, env: { ...process.env, HOME: ctx.workDir } },
    );
    const completed = (async () => {
      const ok = await pollUntil(() => existsSync(doneFile) || managed.exitStatus !== undefined, ctx.timeoutMs, 25);
      if (!ok || !existsSync(doneFile)) throw new Error(`aria2c did not complete (${managed.exitStatus ?? 'timeout'})`);
      return performance.timeOrigin + performance.now();
    })();
    return nativeLeecherStarted(managed, completed, ctx);
  },
};

// ----------------------------------------------------------------------- python3-libtorrent

const libtorrentLeecher: LeecherSpec = {
  id: 'lib',
  label: 'libtorrent 2.0.8 (python3-libtorrent)',
  unavailable: pythonLibtorrent,
  async start(ctx) {
    const port = await freeLoopbackPort();
    const peer = jsonPeer(
      'lib',
      PYTHON,
      [
        LT_PEER,
        'leech',
        '--torrent',
        ctx.torrentPath,
        '--save-path',
        ctx.outDir,
        '--port',
        String(port),
        '--max-seconds',
        String(Math.ceil(ctx.timeoutMs / 1000) + 60),
        ...(ctx.extraArgs ?? []),
      ],
      'complete',
      undefined,
      ctx.onEvent,
      ctx.harnessClock,
    );
    const startedAt = await withinOrStop(peer.managed, peer.added, 30_000, 'libtorrent start');
    const extra: Record<string, unknown> = {};
    return {
      process: peer.managed,
      startedAt,
      completed: peer.final.then((event) => {
        Object.assign(extra, event);
        return event.t;
      }),
      contentRoot: ctx.outDir,
      extra,
      stop: () => peer.managed.stop({ quitFirstMs: 5_000 }),
    };
  },
};

// -------------------------------------------------------------------------- qbittorrent-nox

async function qbtApi(base: string, route: string, init?: RequestInit): Promise<Response> {
  return fetch(`${base}/api/v2/${route}`, { ...init, signal: AbortSignal.timeout(3_000) });
}

const qbtLeecher: LeecherSpec = {
  id: 'qbt',
  label: 'qBittorrent-nox 4.5.2',
  unavailable: () =>
    which('qbittorrent-nox') === undefined ? 'qbittorrent-nox missing (apt-get install -y qbittorrent-nox)' : undefined,
  async start(ctx) {
    const profile = path.join(ctx.workDir, 'qbt-profile');
    const configDir = path.join(profile, 'qBittorrent', 'config');
    await mkdir(configDir, { recursive: true });
    const webPort = await freeLoopbackPort();
    const btPort = await freeLoopbackPort();
    // Keys of qBittorrent 4.5 (the settings are checked again through the Web API below).
    const conf = [
      '[LegalNotice]',
      'Accepted=true',
      '',
      '[BitTorrent]',
      'Session\\DHTEnabled=false',
      'Session\\LSDEnabled=false',
      'Session\\PeXEnabled=false',
      `Session\\Port=${btPort}`,
      'Session\\Interface=lo',
      'Session\\InterfaceName=lo',
      'Session\\InterfaceAddress=127.0.0.1',
      'Session\\BTProtocol=TCP',
      'Session\\MultiConnectionsPerIp=true',
      'Session\\QueueingSystemEnabled=false',
      'Session\\AnonymousModeEnabled=false',
      `Session\\DefaultSavePath=${ctx.outDir}`,
      'Session\\TorrentContentLayout=Original',
      '',
      '[Network]',
      'PortForwardingEnabled=false',
      'Proxy\\OnlyForTorrents=false',
      '',
      '[Preferences]',
      'Connection\\UPnP=false',
      'Connection\\ResolvePeerCountries=false',
      'General\\Locale=en',
      'WebUI\\Enabled=true',
      'WebUI\\Address=127.0.0.1',
      `WebUI\\Port=${webPort}`,
      'WebUI\\LocalHostAuth=false',
      'WebUI\\CSRFProtection=false',
      'WebUI\\HostHeaderValidation=false',
      'WebUI\\UseUPnP=false',
      '',
      '[Application]',
      'FileLogger\\Enabled=false',
      '',
    ].join('\n');
    await writeFile(path.join(configDir, 'qBittorrent.conf'), conf);
    const managed = new Managed('qbt', 'qbittorrent-nox', [`--profile=${profile}`, `--webui-port=${webPort}`], {
      cwd: ctx.workDir,
      env: { ...process.env, HOME: ctx.workDir, XDG_CONFIG_HOME: path.join(ctx.workDir, 'xdg') },
    });
    const base = `http://127.0.0.1:${webPort}`;
    const up = await pollUntil(
      async () => (await qbtApi(base, 'app/version').catch(() => undefined))?.ok === true,
      20_000,
      100,
    );
    if (!up) {
      await managed.stop();
      throw new Error(`qbittorrent-nox Web UI did not come up\n${managed.log()}`);
    }
    const prefs = (await (await qbtApi(base, 'app/preferences')).json()) as Record<string, unknown>;
    const expected: Record<string, unknown> = {
      dht: false,
      pex: false,
      lsd: false,
      upnp: false,
      bittorrent_protocol: 1,
      current_interface_address: '127.0.0.1',
      enable_multi_connections_from_same_ip: true,
      listen_port: btPort,
    };
    const wrong = Object.entries(expected).filter(([key, value]) => prefs[key] !== value);
    if (wrong.length > 0) {
      await managed.stop();
      throw new Error(`qbittorrent-nox settings not applied: ${wrong.map(([k]) => `${k}=${String(prefs[k])}`)}`);
    }
    const form = new FormData();
    form.append('torrents', new Blob([await readFile(ctx.torrentPath)]), 'perf.torrent');
    form.append('savepath', ctx.outDir);
    form.append('paused', 'false');
    form.append('root_folder', 'true');
    const startedAt = performance.timeOrigin + performance.now();
    const added = await qbtApi(base, 'torrents/add', { method: 'POST', body: form }).catch(() => undefined);
    if (added?.ok !== true) {
      await managed.stop();
      throw new Error(`qbittorrent-nox refused the torrent: ${added?.status ?? 'no answer'}`);
    }
    const extra: Record<string, unknown> = {};
    const completed = (async () => {
      const ok = await pollUntil(
        async () => {
          const response = await qbtApi(base, `torrents/info?hashes=${ctx.infoHash}`).catch(() => undefined);
          if (response?.ok !== true) return false;
          const [info] = (await response.json()) as { progress: number; state: string; downloaded: number }[];
          if (info !== undefined) extra.downloaded = info.downloaded; // payload bytes received, as qBittorrent counts them
          return info !== undefined && info.progress === 1 && /UP$/.test(info.state) && !/^checking/.test(info.state);
        },
        ctx.timeoutMs,
        100,
      );
      if (!ok) throw new Error('qbittorrent-nox did not complete');
      return performance.timeOrigin + performance.now();
    })();
    return {
      process: managed,
      startedAt,
      completed,
      contentRoot: ctx.outDir,
      extra,
      async stop() {
        await qbtApi(base, 'app/shutdown', { method: 'POST' }).catch(() => undefined);
        await managed.stop({ quitFirstMs: 0 }).catch(() => managed.stop());
      },
    };
  },
};

// ------------------------------------------------------------------------- transmission-cli

/** Whether something listens on 127.0.0.1:port (TCP), from /proc/net/tcp of this namespace. */
function isListening(port: number): boolean {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  try {
    return readFileSync('/proc/net/tcp', 'utf8')
      .split('\n')
      .some((line) => {
        const fields = line.trim().split(/\s+/);
        return fields[1] === `0100007F:${hexPort}` && fields[3] === '0A';
      });
  } catch {
    return true; // cannot tell: dial anyway
  }
}

const transmissionLeecher: LeecherSpec = {
  id: 'tr',
  label: 'transmission-cli 3.00',
  unavailable: () =>
    which('transmission-cli') === undefined
      ? 'transmission-cli missing (apt-get install -y transmission-cli)'
      : undefined,
  async start(ctx) {
    if (ctx.seeder.connect === undefined) throw new Error('transmission-cli needs a seeder that connects to it');
    const configDir = path.join(ctx.workDir, 'tr-config');
    await mkdir(configDir, { recursive: true });
    const port = await freeLoopbackPort();
    const settings = {
      'dht-enabled': false,
      'lpd-enabled': false,
      'pex-enabled': false,
      'utp-enabled': false,
      'port-forwarding-enabled': false,
      'bind-address-ipv4': '127.0.0.1',
      'bind-address-ipv6': '::1',
      'peer-port': port,
      'peer-port-random-on-start': false,
      encryption: 0, // prefer plain text, like every other client here
      'rename-partial-files': false,
      'incomplete-dir-enabled': false,
      'speed-limit-down-enabled': false,
      'speed-limit-up-enabled': false,
      'alt-speed-enabled': false,
      'blocklist-enabled': false,
      'rpc-enabled': false,
      'watch-dir-enabled': false,
      'ratio-limit-enabled': false,
      'idle-seeding-limit-enabled': false,
      'download-dir': ctx.outDir,
      'message-level': 1,
    };
    await writeFile(path.join(configDir, 'settings.json'), JSON.stringify(settings, null, 2));
    const doneFile = path.join(ctx.workDir, 'tr.done');
    const hook = path.join(ctx.workDir, 'tr-done.sh');
    await writeFile(hook, `#!/bin/sh\n: > '${doneFile}'\n`);
    await chmod(hook, 0o755);
    const managed = new Managed(
      'tr',
      'transmission-cli',
      ['-g', configDir, '-w', ctx.outDir, '-p', String(port), '-D', '-U', '-M', '-et', '-f', hook, ctx.torrentPath],
      { cwd: ctx.workDir, env: { ...process.env, HOME: ctx.workDir } },
    );
    const seeder = ctx.seeder;
    const completed = (async () => {
      // Dial only once it listens: libtorrent gives up on a peer that refused it a few times.
      const listening = await pollUntil(
        () => isListening(port) || managed.exitStatus !== undefined,
        Math.min(ctx.timeoutMs, 30_000),
        25,
      );
      if (!listening || managed.exitStatus !== undefined) {
        throw new Error(`transmission-cli is not listening on ${port} (${managed.exitStatus ?? 'timeout'})`);
      }
      let lastConnect = 0;
      const ok = await pollUntil(
        () => {
          // transmission-cli ignores tracker peers on 127.0.0.0/8: the seeder dials it instead.
          if (Date.now() - lastConnect > 1_000) {
            seeder.connect?.(port);
            lastConnect = Date.now();
          }
          return existsSync(doneFile) || managed.exitStatus !== undefined;
        },
        ctx.timeoutMs,
        25,
      );
      if (!ok || !existsSync(doneFile)) throw new Error(`transmission-cli did not complete (${managed.exitStatus})`);
      return performance.timeOrigin + performance.now();
    })();
    return nativeLeecherStarted(managed, completed, ctx);
  },
};

export const LEECHERS: Record<string, LeecherSpec> = {
  ours: ourLeecher('ours', 'chilly WebTorrentDownloader (fixture)', 'downloader'),
  chilly: chillyLeecher,
  wt: ourLeecher('wt', 'WebTorrent 2.8.5 alone, node defaults (fixture)', 'plain'),
  lib: libtorrentLeecher,
  qbt: qbtLeecher,
  aria2: aria2Leecher,
  tr: transmissionLeecher,
};

// -------------------------------------------------------------------------------- seeders

export interface SeederContext {
  torrentPath: string;
  fixtureDir: string;
  seedDir: string;
  readyTimeoutMs: number;
  nodeArgs: readonly string[];
  nodeEnv: Readonly<Record<string, string>>;
  peerBundle: string;
  /** JSON: extra WebTorrent add() options for our seeder. */
  torrentOpts?: string;
}

export async function startLibtorrentSeeder(ctx: SeederContext): Promise<SeederHandle> {
  const unavailable = pythonLibtorrent();
  if (unavailable !== undefined) throw new Error(unavailable);
  const port = await freeLoopbackPort();
  const peer = jsonPeer(
    'lt-seed',
    PYTHON,
    [LT_PEER, 'seed', '--torrent', ctx.torrentPath, '--save-path', ctx.seedDir, '--port', String(port)],
    'ready',
  );
  await withinOrStop(peer.managed, peer.final, ctx.readyTimeoutMs, 'libtorrent seeder ready');
  return {
    id: 'lib',
    label: 'libtorrent 2.0.8',
    port,
    process: peer.managed,
    connect: (leecherPort) => peer.managed.send(`connect 127.0.0.1 ${leecherPort}`),
    stop: () => peer.managed.stop({ quitFirstMs: 5_000 }),
  };
}

export async function startOurSeeder(ctx: SeederContext, engine: 'downloader' | 'plain'): Promise<SeederHandle> {
  const port = await freeLoopbackPort();
  const peer = jsonPeer(
    `ours-seed-${engine}`,
    process.execPath,
    [
      ...(engine === 'downloader' ? ctx.nodeArgs : []),
      ctx.peerBundle,
      'seed',
      '--engine',
      engine,
      '--torrent',
      ctx.torrentPath,
      '--root',
      ctx.fixtureDir,
      '--port',
      String(port),
      ...(ctx.torrentOpts === undefined ? [] : ['--torrent-opts', ctx.torrentOpts]),
    ],
    'ready',
    engine === 'downloader' ? { ...process.env, ...ctx.nodeEnv } : undefined,
  );
  const listening = peer.final.then((ready) => {
    if (ready.port !== port) throw new Error(`our seeder listens on ${String(ready.port)}, not ${port}`);
  });
  await withinOrStop(peer.managed, listening, ctx.readyTimeoutMs, 'our seeder ready');
  return {
    id: engine === 'downloader' ? 'ours' : 'wt',
    label: engine === 'downloader' ? 'chilly WebTorrentDownloader' : 'plain WebTorrent 2.8.5',
    port,
    process: peer.managed,
    stop: () => peer.managed.stop({ quitFirstMs: 10_000 }),
  };
}
