// A real Transmission (Debian's `transmission-daemon` 3.00) for a test: a fresh config folder, a
// settings.json written before the first start, RPC and peers on 127.0.0.1 only.
//
// Network safety (DESIGN.md "Network safety"): RPC binds to 127.0.0.1 with a whitelist of
// 127.0.0.1; peers listen on 127.0.0.1 (and ::1, never "::"); DHT, LPD, PEX, uTP, UPnP/NAT-PMP
// and the blocklist are off, and `startTransmissionDaemon` checks through RPC that the running
// daemon reports them off before handing it to the test. Torrents must announce to a loopback
// tracker only (the test's job: use tests/helpers/loopback-swarm.ts).
//
// Lifetime: the daemon runs in the foreground (`-f`) as our child, started through
// `setpriv --pdeathsig KILL` where util-linux has it, so the kernel kills it if this test process
// dies without closing it; a process 'exit' hook kills it too. `stop()` is bounded (SIGTERM, then
// SIGKILL).
//
// Getting data into Transmission on loopback: Transmission 3.00 drops every peer address in
// 127.0.0.0/8 that a tracker (or PEX, or DHT) gives it — libtransmission/net.c `isMartianAddr`,
// checked by `tr_address_is_valid_for_peers` before it opens a peer socket — so it never connects
// to a loopback seeder by itself. It does accept *incoming* peer connections from 127.0.0.1
// (session.c `accept_incoming_peer` → `tr_peerMgrAddIncoming` checks only the blocklist). So the
// seeder must dial Transmission: `feedFromSeeder(seederTorrent, daemon)` below tells a WebTorrent
// seeder to connect to the daemon's peer port and keeps telling it (WebTorrent retries a dropped
// peer only three times; Transmission drops its peers on pause, on removal, when it finishes).
// A WebTorrent seeder also finds the daemon by itself at its next tracker announce (the loopback
// tracker asks for one every 5 s), but the explicit call is immediate and deterministic.
// Expect data up to 10 s after the seeder connects: Transmission says "interested" to a new peer
// only at its next rechoke, every 10 s (peer-mgr.c RECHOKE_PERIOD_MSEC), and again after a resume.
// Give each test its own daemon and run them side by side rather than one after another.

import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { constants } from 'node:fs';
import { access, mkdir, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { delimiter, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { freeLoopbackPort } from './ports.js';
import { settlesWithin } from './wait.js';

/** What a test prints when it skips for want of the daemon. */
export const TRANSMISSION_MISSING =
  'transmission-daemon is not installed (apt-get install transmission-daemon; .ci/run installs it)';

export interface TransmissionDaemonInfo {
  binary: string;
}

export interface TransmissionDaemonOptions {
  /** Temp folder for the config folder, the download folders and the log; the test removes it. */
  workDir: string;
  /** RPC credentials (defaults: "chilly" and a random password). */
  username?: string;
  password?: string;
  /**
   * More settings.json entries (e.g. `{ 'download-queue-size': 1 }`), applied over the defaults
   * below. The network-safety entries cannot be overridden.
   */
  settings?: Record<string, unknown>;
  /** How long to wait for RPC to answer, at each start (default 15 s). */
  readyTimeoutMs?: number;
}

export interface TransmissionDaemon {
  /** The RPC endpoint, `http://127.0.0.1:<port>/transmission/rpc`. */
  url: string;
  username: string;
  password: string;
  /** The daemon's default download folder (`download-dir`); incomplete-dir is off. */
  downloadDir: string;
  configDir: string;
  rpcPort: number;
  /** The BitTorrent TCP port it listens on, on 127.0.0.1. */
  peerPort: number;
  /** `127.0.0.1:<peerPort>`, for a seeder to dial (see `feedFromSeeder`). */
  peerAddress: string;
  /** The running process's id (a new one after `restart()`). */
  readonly pid: number;
  /** SIGTERM (Transmission saves its state), then SIGKILL after a bound; resolves once it has exited. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL now, as a crash would (no state saved); resolves once it has exited. */
  kill(): Promise<void>;
  /** Starts it again with the same config folder and ports (after `stop()` or `kill()`), and waits for RPC. */
  restart(): Promise<void>;
  /** Everything it wrote to stdout and stderr, over every start. */
  log(): string;
}

/** The part of a WebTorrent torrent `feedFromSeeder` needs. */
export interface DialingTorrent {
  readonly destroyed?: boolean;
  readonly wires?: ReadonlyArray<{ readonly remoteAddress: string; readonly remotePort: number }>;
  addPeer(addr: string): boolean;
  removePeer?(addr: string): void;
}

const BINARY_NAME = 'transmission-daemon';
const DEFAULT_READY_TIMEOUT_MS = 15_000;
const POLL_INTERVAL_MS = 100;
const TERM_GRACE_MS = 5_000;
const KILL_WAIT_MS = 5_000;
const PROBE_TIMEOUT_MS = 1_000;
const LOG_CAP_CHARS = 512 * 1024;
const FEED_INTERVAL_MS = 1_000;

/** Settings a test may not change: they keep the daemon on loopback and off every public network. */
const NETWORK_SAFETY: Record<string, unknown> = {
  'bind-address-ipv4': '127.0.0.1',
  'bind-address-ipv6': '::1',
  'rpc-bind-address': '127.0.0.1',
  'rpc-whitelist-enabled': true,
  'rpc-whitelist': '127.0.0.1',
  'dht-enabled': false,
  'lpd-enabled': false,
  'pex-enabled': false,
  'utp-enabled': false,
  'port-forwarding-enabled': false, // UPnP and NAT-PMP
  'blocklist-enabled': false, // and so no blocklist download
  'blocklist-url': 'http://127.0.0.1:9/blocklist', // in case something asks for an update anyway
  'peer-port-random-on-start': false,
};

/** The session-get keys that must read back as written (a different build could ignore one). */
const CHECKED_SESSION_KEYS = ['dht-enabled', 'lpd-enabled', 'pex-enabled', 'utp-enabled', 'port-forwarding-enabled'];

export async function findTransmissionDaemon(): Promise<TransmissionDaemonInfo | null> {
  return findExecutable(BINARY_NAME).then((binary) => (binary === null ? null : { binary }));
}

export async function startTransmissionDaemon(options: TransmissionDaemonOptions): Promise<TransmissionDaemon> {
  const found = await findTransmissionDaemon();
  if (found === null) throw new Error(TRANSMISSION_MISSING);
  const setpriv = await findExecutable('setpriv');

  const configDir = join(options.workDir, 'config');
  const downloadDir = join(options.workDir, 'downloads');
  const incompleteDir = join(options.workDir, 'incomplete');
  await Promise.all([configDir, downloadDir, incompleteDir].map((dir) => mkdir(dir, { recursive: true })));
  const username = options.username ?? 'chilly';
  const password = options.password ?? `pw-${Math.random().toString(36).slice(2)}`;
  const rpcPort = await freeLoopbackPort();
  const peerPort = await freeLoopbackPort();

  const settings = {
    'download-dir': downloadDir,
    'incomplete-dir': incompleteDir,
    'incomplete-dir-enabled': false, // files stay where they were downloaded: one path to check
    'watch-dir-enabled': false,
    'start-added-torrents': true, // added torrents run (RPC `paused` can still say otherwise)
    'trash-original-torrent-files': false,
    'ratio-limit-enabled': false, // completed torrents keep seeding rather than stop
    'idle-seeding-limit-enabled': false,
    'speed-limit-down-enabled': false,
    'speed-limit-up-enabled': false,
    'alt-speed-enabled': false,
    'alt-speed-time-enabled': false,
    'script-torrent-done-enabled': false,
    encryption: 1, // "preferred": plaintext peers (WebTorrent) are accepted
    'message-level': 2, // info: torrents added, peers, errors
    'rpc-enabled': true,
    'rpc-port': rpcPort,
    'rpc-authentication-required': true,
    'rpc-username': username,
    'rpc-password': password, // plain text here; Transmission hashes it when it saves settings.json
    'rpc-host-whitelist-enabled': true, // an IP-literal Host header is always allowed
    'peer-port': peerPort,
    ...options.settings,
    ...NETWORK_SAFETY,
  };
  await writeFile(join(configDir, 'settings.json'), `${JSON.stringify(settings, null, 2)}\n`);

  const url = `http://127.0.0.1:${rpcPort}/transmission/rpc`;
  const readyTimeoutMs = options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
  let output = '';
  const append = (chunk: Buffer | string): void => {
    output += chunk.toString();
    if (output.length > LOG_CAP_CHARS) output = output.slice(-LOG_CAP_CHARS);
  };

  let current: Running | null = null;
  const launch = async (): Promise<void> => {
    const running = spawnDaemon(found.binary, setpriv, configDir, options.workDir, append);
    current = running;
    try {
      await waitUntilReady({
        url,
        username,
        password,
        peerPort,
        running,
        timeoutMs: readyTimeoutMs,
        log: () => output,
      });
    } catch (error) {
      await running.stop();
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`transmission-daemon did not become ready: ${reason}\n--- its output ---\n${output}`);
    }
  };
  await launch();

  const daemon: TransmissionDaemon = {
    url,
    username,
    password,
    downloadDir,
    configDir,
    rpcPort,
    peerPort,
    peerAddress: `127.0.0.1:${peerPort}`,
    get pid() {
      return current?.pid ?? -1;
    },
    stop: () => current?.stop() ?? Promise.resolve(),
    kill: () => current?.kill() ?? Promise.resolve(),
    async restart() {
      await current?.stop();
      await launch();
    },
    log: () => output,
  };
  return daemon;
}

/**
 * Makes a WebTorrent seeder dial the daemon now and again every second while this runs (a peer it
 * is already connected to is ignored), since Transmission never dials a loopback peer itself (see
 * the top of this file). Returns the function that stops it; call it before destroying the seeder.
 */
export function feedFromSeeder(torrent: DialingTorrent, daemon: Pick<TransmissionDaemon, 'peerAddress'>): () => void {
  const dial = (): void => {
    if (torrent.destroyed === true) return;
    try {
      // Not connected: forget a dropped connection that waits to retry (WebTorrent waits 1, 5, then
      // 15 s and ignores addPeer meanwhile, so after a pause in Transmission the data came back
      // only up to ~30 s later, plus Transmission's 10 s rechoke), and dial it now.
      const connected = torrent.wires?.some(
        (wire) => `${wire.remoteAddress}:${wire.remotePort}` === daemon.peerAddress,
      );
      if (connected === false) torrent.removePeer?.(daemon.peerAddress);
      torrent.addPeer(daemon.peerAddress);
    } catch {
      // the seeder is shutting down
    }
  };
  dial();
  const timer = setInterval(dial, FEED_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}

interface Running {
  pid: number;
  exited(): boolean;
  exitStatus(): string | null;
  stop(): Promise<void>;
  kill(): Promise<void>;
}

function spawnDaemon(
  binary: string,
  setpriv: string | null,
  configDir: string,
  home: string,
  append: (chunk: Buffer | string) => void,
): Running {
  const daemonArgs = ['--foreground', '--config-dir', configDir];
  // setpriv execs the daemon in place (same pid) after asking the kernel to SIGKILL it when we die.
  const [command, args] =
    setpriv !== null ? [setpriv, ['--pdeathsig', 'KILL', '--', binary, ...daemonArgs]] : [binary, daemonArgs];
  const child: ChildProcess = spawn(command, args, {
    cwd: home,
    // A private HOME: nothing of the machine's own Transmission state is read or written.
    env: { ...process.env, HOME: home, TRANSMISSION_HOME: configDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  let exitStatus: string | null = null;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exitStatus = signal !== null ? `signal ${signal}` : `code ${code}`;
      append(`\n[transmission-daemon exited: ${exitStatus}]\n`);
      resolve();
    });
  });
  child.on('error', (error) => append(`\n[spawn error] ${error.message}\n`));
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  void exited.then(() => process.off('exit', killOnExit));

  const hasExited = (): boolean => exitStatus !== null;
  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (hasExited()) return;
      child.kill('SIGTERM'); // Transmission saves resume files, then sends "stopped" announces
      if (await settlesWithin(exited, TERM_GRACE_MS)) return;
      child.kill('SIGKILL');
      if (!(await settlesWithin(exited, KILL_WAIT_MS))) {
        throw new Error(`transmission-daemon pid ${child.pid} did not exit after SIGKILL`);
      }
    })();
    return stopping;
  };
  const kill = async (): Promise<void> => {
    if (hasExited()) return;
    child.kill('SIGKILL');
    if (!(await settlesWithin(exited, KILL_WAIT_MS))) {
      throw new Error(`transmission-daemon pid ${child.pid} did not exit after SIGKILL`);
    }
  };
  return { pid: child.pid ?? -1, exited: hasExited, exitStatus: () => exitStatus, stop, kill };
}

interface ReadyProbe {
  url: string;
  username: string;
  password: string;
  peerPort: number;
  running: Running;
  timeoutMs: number;
  /** The daemon's output so far. */
  log(): string;
}

/** Waits until RPC answers session-get with our credentials and the peer port accepts connections. */
async function waitUntilReady(probe: ReadyProbe): Promise<void> {
  const deadline = Date.now() + probe.timeoutMs;
  let lastProblem = 'RPC not answering yet';
  while (Date.now() < deadline) {
    if (probe.running.exited()) throw new Error(`it exited (${probe.running.exitStatus()})`);
    // Something else holds the port: the probe below would connect to that instead.
    if (probe.log().includes(`Couldn't bind port ${probe.peerPort} on 127.0.0.1`)) {
      throw new Error(`its peer port ${probe.peerPort} is taken by another process`);
    }
    const session = await sessionGet(probe).catch((error: unknown) => {
      lastProblem = error instanceof Error ? error.message : String(error);
      return null;
    });
    if (session !== null && (await tcpAccepts(probe.peerPort))) {
      for (const key of CHECKED_SESSION_KEYS) {
        if (session[key] !== false) {
          throw new Error(`it reports ${key} = ${JSON.stringify(session[key])}, not false (network safety)`);
        }
      }
      return;
    }
    if (session !== null) lastProblem = `peer port ${probe.peerPort} not accepting connections yet`;
    await delay(POLL_INTERVAL_MS);
  }
  throw new Error(`not ready after ${probe.timeoutMs} ms: ${lastProblem}`);
}

/** session-get with the X-Transmission-Session-Id handshake (one 409, then the real answer). */
async function sessionGet(probe: ReadyProbe): Promise<Record<string, unknown>> {
  const authorization = `Basic ${Buffer.from(`${probe.username}:${probe.password}`).toString('base64')}`;
  let sessionId = '';
  for (let attempt = 0; attempt < 2; attempt += 1) {
    const response = await fetch(probe.url, {
      method: 'POST',
      headers: { authorization, 'content-type': 'application/json', 'x-transmission-session-id': sessionId },
      body: JSON.stringify({ method: 'session-get' }),
      signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
    });
    if (response.status === 409) {
      sessionId = response.headers.get('x-transmission-session-id') ?? '';
      await response.body?.cancel();
      continue;
    }
    if (!response.ok) throw new Error(`RPC answered HTTP ${response.status}`);
    const body: unknown = await response.json();
    if (isRecord(body) && body.result === 'success' && isRecord(body.arguments)) return body.arguments;
    throw new Error(`unexpected session-get answer: ${JSON.stringify(body).slice(0, 200)}`);
  }
  throw new Error('RPC kept answering 409');
}

async function tcpAccepts(port: number): Promise<boolean> {
  const socket = connect({ host: '127.0.0.1', port });
  socket.on('error', () => undefined);
  const result = await Promise.race([
    once(socket, 'connect').then(
      () => true,
      () => false,
    ),
    once(socket, 'error').then(() => false),
    delay(PROBE_TIMEOUT_MS, false),
  ]);
  socket.destroy();
  return result;
}

async function findExecutable(name: string): Promise<string | null> {
  const dirs = (process.env.PATH ?? '').split(delimiter).filter((dir) => dir !== '');
  // /usr/bin last, in case a test runner strips PATH down.
  for (const dir of [...dirs, '/usr/bin']) {
    const candidate = join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this folder
    }
  }
  return null;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
