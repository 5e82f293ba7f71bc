// A real qBittorrent daemon (Debian's `qbittorrent-nox`) for one test: its own temp profile, its
// WebUI on 127.0.0.1 behind a user name and password, its torrent port on 127.0.0.1, and nothing
// that reaches past this machine.
//
// Network safety (DESIGN.md "Network safety"): the profile's qBittorrent.conf turns DHT, Local Peer
// Discovery, PeX, UPnP/NAT-PMP (for the torrent port and the WebUI) and the GeoIP download (peer
// countries) off, binds the session to the `lo` interface at 127.0.0.1 for listening and for
// outgoing connections (trackers and peers), and speaks TCP only. Anonymous mode stays off: in
// libtorrent it would skip every tracker that is not reached through a proxy, the loopback one too.
// qBittorrent keeps one connection per IP unless told otherwise, and every peer here is 127.0.0.1.
//
// Lifetime: stop() (SIGTERM, then SIGKILL, bounded) or kill() (SIGKILL). A child left behind by a
// test that forgets is killed when this process exits, and a small watchdog kills it if this process
// dies without running its exit handlers (SIGKILL of the test runner): nothing outlives the test.

import { type ChildProcess, spawn } from 'node:child_process';
import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { readTail } from './log-tail.js';
import { freeLoopbackPort } from './ports.js';
import { settlesWithin } from './wait.js';

/** The message for tests that skip when the daemon is not installed. */
export const QBITTORRENT_NOX_MISSING =
  'qbittorrent-nox is not installed (apt-get install qbittorrent-nox; .ci/run installs it)';

export interface QBittorrentDaemonOptions {
  /** Folder for the profile, downloads and logs; a fresh temp folder by default (removed by close()). */
  workDir?: string;
  /** WebUI user name (default "chilly"). */
  username?: string;
  /** WebUI password (default: random). */
  password?: string;
  /** How long to wait for the WebUI to answer (default 20 s). */
  readyTimeoutMs?: number;
}

export interface QBittorrentDaemon {
  /** The WebUI's base URL, http://127.0.0.1:<port> (no trailing slash). */
  url: string;
  username: string;
  password: string;
  /** The profile's default save path (an empty folder in the work dir). */
  downloadDir: string;
  profileDir: string;
  webUiPort: number;
  /** BitTorrent port it listens on (TCP, 127.0.0.1). */
  torrentPort: number;
  /** The running process's id (a new one after restart()). */
  readonly pid: number;
  /** SIGTERM (qBittorrent saves its resume data), then SIGKILL after a bound; resolves once it has exited. */
  stop(): Promise<void>;
  /** SIGKILL: no chance to save anything; resolves once it has exited. */
  kill(): Promise<void>;
  /** Starts it again with the same profile and ports (stops it first if running), and waits for the WebUI. */
  restart(): Promise<void>;
  /** Its console output, then the tail of its log file (qBittorrent.log in the profile). */
  log(): string;
  /** stop(), then removes the work dir if this helper created it. */
  close(): Promise<void>;
}

const BINARY_NAME = 'qbittorrent-nox';
const DEFAULT_USERNAME = 'chilly';
const DEFAULT_READY_TIMEOUT_MS = 20_000;
const POLL_INTERVAL_MS = 100;
const PROBE_TIMEOUT_MS = 2_000;
const TERM_GRACE_MS = 5_000;
const KILL_WAIT_MS = 5_000;
const CONSOLE_CAP_CHARS = 256 * 1024;
const LOG_TAIL_BYTES = 32 * 1024;
/** How often the watchdog checks that this process is still alive. */
const WATCHDOG_INTERVAL_S = 1;

/** PBKDF2 as qBittorrent 4.2+ stores WebUI passwords (src/base/utils/password.cpp). */
const PBKDF2_ITERATIONS = 100_000;
const PBKDF2_SALT_BYTES = 16;
const PBKDF2_KEY_BYTES = 64;

/** Children still running, killed if this process exits without stopping them. */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}

/** Path of qbittorrent-nox, or null when it is not installed. */
export async function findQBittorrentNox(): Promise<string | null> {
  const dirs = (process.env.PATH ?? '').split(delimiter).filter((dir) => dir !== '');
  // /usr/bin last, in case a test runner strips PATH down.
  for (const dir of [...dirs, '/usr/bin']) {
    const binary = join(dir, BINARY_NAME);
    try {
      await access(binary, constants.X_OK);
      return binary;
    } catch {
      // not in this folder
    }
  }
  return null;
}

/** `WebUI\Password_PBKDF2` for `password`: "@ByteArray(<salt base64>:<key base64>)" (PBKDF2-SHA512). */
export function qbittorrentPasswordHash(password: string, salt: Buffer = randomBytes(PBKDF2_SALT_BYTES)): string {
  const key = pbkdf2Sync(password, salt, PBKDF2_ITERATIONS, PBKDF2_KEY_BYTES, 'sha512');
  return `@ByteArray(${salt.toString('base64')}:${key.toString('base64')})`;
}

interface ProfileSettings {
  webUiPort: number;
  torrentPort: number;
  username: string;
  password: string;
  downloadDir: string;
  logDir: string;
}

/** qBittorrent.conf (QSettings INI: `[Section]` then `Key\Sub=value`), 4.5 key names. */
function profileConf(settings: ProfileSettings): string {
  const lines = [
    '[LegalNotice]',
    'Accepted=true', // otherwise qbittorrent-nox asks on the console and waits
    '',
    '[Application]',
    'FileLogger\\Enabled=true',
    `FileLogger\\Path=${settings.logDir}`,
    'FileLogger\\Backup=false',
    'FileLogger\\DeleteOld=false',
    '',
    '[Network]',
    'PortForwardingEnabled=false', // no UPnP / NAT-PMP for the torrent port
    '',
    '[BitTorrent]',
    'Session\\DHTEnabled=false',
    'Session\\LSDEnabled=false', // Local Peer Discovery multicasts on the LAN
    'Session\\PeXEnabled=false',
    'Session\\AnonymousModeEnabled=false', // on, libtorrent would ignore the loopback tracker (no proxy)
    'Session\\MultiConnectionsPerIp=true', // every peer in a test is 127.0.0.1
    'Session\\Interface=lo', // listen on, and connect out from, loopback only ...
    'Session\\InterfaceName=lo',
    'Session\\InterfaceAddress=127.0.0.1', // ... at this address
    `Session\\Port=${settings.torrentPort}`,
    'Session\\BTProtocol=TCP', // no uTP (slow over loopback; the seeders here speak TCP)
    'Session\\AddTrackersEnabled=false', // no extra public trackers added to torrents
    'Session\\QueueingSystemEnabled=false', // every torrent runs: no queuedDL surprises in tests
    `Session\\DefaultSavePath=${settings.downloadDir}`,
    'Session\\TempPathEnabled=false',
    'Session\\AddTorrentPaused=false',
    'Session\\TorrentContentLayout=Original',
    'Session\\Preallocation=false',
    'Session\\AddExtensionToIncompleteFiles=false',
    'Session\\StopTrackerTimeout=1', // at exit, wait 1 s (not 5) for "stopped" announces to trackers a test may have closed
    '',
    '[Preferences]',
    'Connection\\ResolvePeerCountries=false', // would download a GeoIP database from the internet
    'General\\Locale=en',
    'WebUI\\Enabled=true',
    'WebUI\\Address=127.0.0.1',
    `WebUI\\Port=${settings.webUiPort}`,
    'WebUI\\UseUPnP=false', // no UPnP for the WebUI port either
    'WebUI\\LocalHostAuth=true', // sign-in required, also from 127.0.0.1
    'WebUI\\AuthSubnetWhitelistEnabled=false',
    `WebUI\\Username=${settings.username}`,
    `WebUI\\Password_PBKDF2="${qbittorrentPasswordHash(settings.password)}"`,
    // Tests sign in with a wrong password on purpose; the default (5 failures → 1 h ban of the
    // client's IP, i.e. of 127.0.0.1) would lock every later test out.
    'WebUI\\MaxAuthenticationFailCount=0',
    'WebUI\\CSRFProtection=true',
    'WebUI\\HostHeaderValidation=true',
    '',
  ];
  return lines.join('\n');
}

export async function startQBittorrentDaemon(options: QBittorrentDaemonOptions = {}): Promise<QBittorrentDaemon> {
  const binary = await findQBittorrentNox();
  if (binary === null) throw new Error(QBITTORRENT_NOX_MISSING);
  installExitHook();

  const ownsWorkDir = options.workDir === undefined;
  const workDir = options.workDir ?? (await mkdtemp(join(tmpdir(), 'chilly-qbittorrent-')));
  const profileDir = join(workDir, 'profile');
  const downloadDir = join(workDir, 'downloads');
  const logDir = join(workDir, 'logs');
  const homeDir = join(workDir, 'home');
  const configDir = join(profileDir, 'qBittorrent', 'config');
  await Promise.all([configDir, downloadDir, logDir, homeDir].map((dir) => mkdir(dir, { recursive: true })));

  const username = options.username ?? DEFAULT_USERNAME;
  const password = options.password ?? randomBytes(12).toString('base64url');
  const webUiPort = await freeLoopbackPort();
  const torrentPort = await freeLoopbackPort();
  const url = `http://127.0.0.1:${webUiPort}`;
  await writeFile(
    join(configDir, 'qBittorrent.conf'),
    profileConf({ webUiPort, torrentPort, username, password, downloadDir, logDir }),
  );
  const logFile = join(logDir, 'qbittorrent.log');
  const readyTimeoutMs = options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;

  let consoleText = '';
  const append = (chunk: Buffer | string): void => {
    consoleText += chunk.toString();
    if (consoleText.length > CONSOLE_CAP_CHARS) consoleText = consoleText.slice(-CONSOLE_CAP_CHARS);
  };
  const log = (): string => `${consoleText}\n--- ${logFile} (tail) ---\n${readTail(logFile, LOG_TAIL_BYTES)}`;

  let current: RunningProcess | undefined;

  const launch = async (): Promise<void> => {
    const run = spawnDaemon(binary, profileDir, homeDir, append);
    current = run;
    try {
      await waitForWebUi({ url, timeoutMs: readyTimeoutMs, exitStatus: () => run.exitStatus });
    } catch (error) {
      await stopProcess(run);
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`qbittorrent-nox did not come up: ${reason}\n${log()}`);
    }
  };

  const daemon: QBittorrentDaemon = {
    url,
    username,
    password,
    downloadDir,
    profileDir,
    webUiPort,
    torrentPort,
    get pid() {
      return current?.child.pid ?? -1;
    },
    stop: async () => {
      if (current !== undefined) await stopProcess(current);
    },
    kill: async () => {
      if (current === undefined || current.exitStatus !== null) return;
      current.child.kill('SIGKILL');
      if (!(await settlesWithin(current.exited, KILL_WAIT_MS))) {
        throw new Error(`qbittorrent-nox pid ${current.child.pid} did not exit after SIGKILL`);
      }
    },
    restart: async () => {
      if (current !== undefined) await stopProcess(current);
      append(`\n--- restart ---\n`);
      await launch();
    },
    log,
    close: async () => {
      if (current !== undefined) await stopProcess(current);
      if (ownsWorkDir) await rm(workDir, { recursive: true, force: true });
    },
  };

  try {
    await launch();
  } catch (error) {
    if (ownsWorkDir) await rm(workDir, { recursive: true, force: true });
    throw error;
  }
  return daemon;
}

interface RunningProcess {
  child: ChildProcess;
  exited: Promise<void>;
  exitStatus: string | null;
}

function spawnDaemon(
  binary: string,
  profileDir: string,
  homeDir: string,
  append: (chunk: Buffer | string) => void,
): RunningProcess {
  // A bare environment: no QBT_* variables (qbittorrent-nox reads its options from them), no proxy
  // variables, and a private HOME/XDG so nothing of the machine's own qBittorrent is read or written.
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: homeDir,
    XDG_CONFIG_HOME: join(homeDir, '.config'),
    XDG_DATA_HOME: join(homeDir, '.local', 'share'),
    XDG_CACHE_HOME: join(homeDir, '.cache'),
    LANG: 'C.UTF-8',
  };
  const child = spawn(binary, [`--profile=${profileDir}`], { cwd: homeDir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const run: RunningProcess = { child, exited: Promise.resolve(), exitStatus: null };
  run.exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      run.exitStatus = signal !== null ? `signal ${signal}` : `code ${code}`;
      live.delete(child);
      resolve();
    });
  });
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  child.on('error', (error) => {
    append(`\n[spawn error] ${error.message}\n`);
    if (run.exitStatus === null) run.exitStatus = `spawn error: ${error.message}`;
  });
  if (child.pid !== undefined) {
    live.add(child);
    startWatchdog(child.pid);
  }
  return run;
}

/**
 * A detached shell that SIGKILLs the daemon once this process is gone, and ends by itself once the
 * daemon is. It covers the one case exit handlers cannot: this process killed with SIGKILL.
 */
function startWatchdog(daemonPid: number): void {
  const script = `while kill -0 ${process.pid} 2>/dev/null && kill -0 ${daemonPid} 2>/dev/null; do sleep ${WATCHDOG_INTERVAL_S}; done; kill -9 ${daemonPid} 2>/dev/null; exit 0`;
  const watchdog = spawn('/bin/sh', ['-c', script], { detached: true, stdio: 'ignore' });
  watchdog.on('error', () => undefined);
  watchdog.unref();
}

async function stopProcess(run: RunningProcess): Promise<void> {
  if (run.exitStatus !== null) return;
  run.child.kill('SIGTERM'); // qBittorrent saves resume data and exits
  if (await settlesWithin(run.exited, TERM_GRACE_MS)) return;
  run.child.kill('SIGKILL');
  if (!(await settlesWithin(run.exited, KILL_WAIT_MS))) {
    throw new Error(`qbittorrent-nox pid ${run.child.pid} did not exit after SIGKILL`);
  }
}

interface ReadinessProbe {
  url: string;
  timeoutMs: number;
  exitStatus(): string | null;
}

/**
 * Ready = the WebUI answers a request without a session with 403 (401 from 5.x). Not a sign-in: each
 * one opens a WebUI session, and each session start runs the free-disk-space check that can crash
 * 4.5.x (src/downloaders/qbittorrent/qbittorrent-version.ts). The credentials are checked by the
 * first client that signs in.
 */
async function waitForWebUi(probe: ReadinessProbe): Promise<void> {
  const deadline = Date.now() + probe.timeoutMs;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    const status = probe.exitStatus();
    if (status !== null) throw new Error(`it exited (${status})`);
    try {
      const response = await fetch(`${probe.url}/api/v2/app/version`, {
        signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
      });
      const body = (await response.text()).trim();
      if (response.status === 403 || response.status === 401) return;
      last = `app/version answered ${response.status} ${JSON.stringify(body.slice(0, 100))}`;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    await delay(POLL_INTERVAL_MS);
  }
  throw new Error(`the WebUI did not answer within ${probe.timeoutMs} ms (last: ${last})`);
}
