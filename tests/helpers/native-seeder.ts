// Interop helper: a mainstream native BitTorrent client (aria2c, Debian package `aria2`) that
// seeds a torrent on loopback, so a test can prove our WebTorrent side downloads from a client
// that is not WebTorrent.
//
// Why aria2c: a single binary with no profile to prepare, no system daemon on install, it
// accepts peers on 127.0.0.1 (transmission-cli ignores them) and does not keep one peer per IP
// (qbittorrent-nox does unless configured), and its JSON-RPC tells exactly when it is a seeder.
//
// Network safety (DESIGN.md "Network safety"): every announce URL and web seed must be an
// IPv4 loopback literal, aria2c binds every socket to 127.0.0.1, DHT/LPD/PEX are off (aria2c
// has no UPnP or NAT-PMP), and the process dies with this one (`--stop-with-process`) or after
// `--seed-time` at the latest, even if a test forgets to close it.

import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { constants } from 'node:fs';
import { access, mkdir, readFile, stat } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import parseTorrent from 'parse-torrent';
import { readTail } from './log-tail.js';
import { freeLoopbackPort } from './ports.js';
import { settlesWithin } from './wait.js';

export interface NativeSeederInfo {
  name: string;
  binary: string;
}

export interface NativeSeederOptions {
  /** Path of the .torrent file. */
  torrentFile: string;
  /** Folder that holds the torrent's content laid out as the torrent expects it. */
  dataDir: string;
  /**
   * Tracker to announce to instead of the torrent's own (must be http://127.0.0.x). Without it
   * the torrent's announce list is used, and it must be all loopback too.
   */
  announceUrl?: string;
  /** Temp folder for the client's home, logs and config. */
  workDir: string;
  /** How long to wait for the client to be seeding (default 30 s). */
  readyTimeoutMs?: number;
}

export interface NativeSeeder {
  name: string;
  /** BitTorrent TCP port it listens on (127.0.0.1). */
  port: number;
  pid: number;
  /** Its console output, then the tail of its detailed log file. */
  log(): string;
  /** SIGTERM, then SIGKILL after a short bound; resolves once the process has exited. Idempotent. */
  close(): Promise<void>;
}

const CLIENT_NAME = 'aria2c';
const DEFAULT_READY_TIMEOUT_MS = 30_000;
const POLL_INTERVAL_MS = 200;
/** Backstop only: a leaked seeder stops by itself after this long. */
const MAX_SEED_MINUTES = 30;
const TERM_GRACE_MS = 3_000;
const KILL_WAIT_MS = 5_000;
const RPC_TIMEOUT_MS = 2_000;
const CONSOLE_CAP_CHARS = 256 * 1024;
const LOG_TAIL_BYTES = 32 * 1024;

export async function findNativeSeeder(): Promise<NativeSeederInfo | null> {
  const dirs = (process.env.PATH ?? '').split(delimiter).filter((dir) => dir !== '');
  // /usr/bin last, in case a test runner strips PATH down.
  for (const dir of [...dirs, '/usr/bin']) {
    const binary = join(dir, CLIENT_NAME);
    try {
      await access(binary, constants.X_OK);
      return { name: CLIENT_NAME, binary };
    } catch {
      // not in this folder
    }
  }
  return null;
}

export async function startNativeSeeder(options: NativeSeederOptions): Promise<NativeSeeder> {
  const found = await findNativeSeeder();
  if (found === null) {
    throw new Error(`${CLIENT_NAME} is not installed (apt-get install -y aria2)`);
  }
  const torrent = await parseTorrent(await readFile(options.torrentFile));
  const trackers = options.announceUrl !== undefined ? [options.announceUrl] : (torrent.announce ?? []);
  for (const url of [...trackers, ...(torrent.urlList ?? [])]) assertLoopbackUrl(url);
  // aria2c would otherwise create missing files and start *downloading* into dataDir.
  for (const file of torrent.files ?? []) {
    const path = join(options.dataDir, file.path);
    const size = await stat(path).then(
      (s) => s.size,
      () => -1,
    );
    if (size !== file.length) {
      throw new Error(`native seeder: ${path} is missing or not ${file.length} bytes (found ${size})`);
    }
  }

  await mkdir(options.workDir, { recursive: true });
  const port = await freeLoopbackPort();
  const rpcPort = await freeLoopbackPort();
  const rpcSecret = randomBytes(16).toString('hex');
  const logFile = join(options.workDir, 'aria2c.log');

  const args = [
    '--no-conf=true', // ignore any ~/.aria2/aria2.conf: only the flags below apply
    '--enable-dht=false', // no DHT (IPv4) ...
    '--enable-dht6=false', // ... nor IPv6 DHT
    '--bt-enable-lpd=false', // no Local Peer Discovery multicast
    '--enable-peer-exchange=false', // no PEX: peers come from the loopback tracker only
    '--interface=127.0.0.1', // bind listening and outgoing sockets (tracker, peers) to loopback
    '--disable-ipv6=true', // nothing on IPv6 at all
    `--listen-port=${port}`, // one known free port, so the test knows where the seeder is
    '--bt-external-ip=127.0.0.1', // the ip= a tracker records, if it honours it: loopback
    '--check-integrity=true', // hash the existing data first, so "seeding" means "verified"
    '--bt-hash-check-seed=true', // after a good check, seed (the default, said out loud)
    '--seed-ratio=0.0', // seed regardless of share ratio ...
    `--seed-time=${MAX_SEED_MINUTES}`, // ... but stop by itself at the latest after this (backstop)
    `--stop-with-process=${process.pid}`, // and exit if this test process dies without closing it
    '--bt-exclude-tracker=*', // drop the torrent's trackers ...
    ...(trackers.length > 0 ? [`--bt-tracker=${trackers.join(',')}`] : []), // ... use only checked ones
    '--max-overall-upload-limit=0', // no upload cap
    '--enable-rpc=true', // JSON-RPC tells when it is a verified, active seeder
    '--rpc-listen-all=false', // RPC on loopback only
    `--rpc-listen-port=${rpcPort}`,
    `--rpc-secret=${rpcSecret}`,
    '--auto-save-interval=0', // no .aria2 control file written into dataDir while running
    '--summary-interval=0', // no periodic progress lines in the console
    '--show-console-readout=false',
    '--enable-color=false', // plain text console, for the log and the readiness match
    '--console-log-level=notice',
    `--log=${logFile}`, // detailed log (tracker requests, peers) for failures
    '--log-level=info',
    `--dir=${options.dataDir}`,
    options.torrentFile,
  ];

  const child = spawn(found.binary, args, {
    cwd: options.workDir,
    // A private HOME so nothing of the machine's aria2 state (dht.dat, config) is read or written.
    env: { ...process.env, HOME: options.workDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pid = child.pid;
  if (pid === undefined) {
    const [error] = (await once(child, 'error')) as [Error];
    throw new Error(`native seeder: cannot start ${found.binary}: ${error.message}`);
  }

  let consoleText = '';
  const append = (chunk: Buffer): void => {
    consoleText += chunk.toString('utf8');
    if (consoleText.length > CONSOLE_CAP_CHARS) consoleText = consoleText.slice(-CONSOLE_CAP_CHARS);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);

  let exitStatus: string | null = null;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exitStatus = signal !== null ? `signal ${signal}` : `code ${code}`;
      resolve();
    });
  });
  child.on('error', (error) => append(Buffer.from(`\n[spawn error] ${error.message}\n`)));

  const log = (): string => `${consoleText}\n--- ${logFile} (tail) ---\n${readTail(logFile, LOG_TAIL_BYTES)}`;
  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= stopProcess(child, exited, () => exitStatus !== null);
    return closing;
  };

  const seeder: NativeSeeder = { name: found.name, port, pid, log, close };
  try {
    await waitUntilSeeding({
      port,
      rpcPort,
      rpcSecret,
      infoHash: torrent.infoHash,
      trackers,
      timeoutMs: options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS,
      consoleText: () => consoleText,
      exitStatus: () => exitStatus,
    });
  } catch (error) {
    await close();
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`native seeder (${CLIENT_NAME}) did not start seeding: ${reason}\n${log()}`);
  }
  return seeder;
}

interface ReadinessProbe {
  port: number;
  rpcPort: number;
  rpcSecret: string;
  infoHash: string;
  trackers: string[];
  timeoutMs: number;
  consoleText(): string;
  exitStatus(): string | null;
}

/** Ready = data verified and seeding (RPC), listening on our port (console), known to a tracker (scrape). */
async function waitUntilSeeding(probe: ReadinessProbe): Promise<void> {
  const deadline = Date.now() + probe.timeoutMs;
  const maxPolls = Math.ceil(probe.timeoutMs / POLL_INTERVAL_MS) + 1;
  let seeding = false;
  let listening = false;
  let announced = probe.trackers.length === 0; // nothing to announce to: nothing to wait for
  const missing = (): string =>
    [!seeding && 'verified seeding', !listening && 'listening', !announced && 'tracker announce']
      .filter((part) => part !== false)
      .join(', ');

  for (let poll = 0; poll < maxPolls && Date.now() < deadline; poll++) {
    const status = probe.exitStatus();
    if (status !== null) throw new Error(`it exited (${status}) while still missing: ${missing()}`);
    const text = probe.consoleText();
    if (text.includes('Checksum error detected')) {
      throw new Error('its check of the data in dataDir failed (the content does not match the torrent)');
    }
    listening ||= new RegExp(`BitTorrent: listening on TCP port ${probe.port}(?!\\d)`).test(text);
    seeding ||= await rpcIsSeeding(probe);
    if (seeding && !announced) {
      for (const tracker of probe.trackers) {
        if ((await scrapeComplete(tracker, probe.infoHash)) > 0) announced = true;
      }
    }
    if (seeding && listening && announced) return;
    await delay(POLL_INTERVAL_MS);
  }
  throw new Error(`not ready after ${probe.timeoutMs} ms; still missing: ${missing()}`);
}

async function rpcIsSeeding(probe: ReadinessProbe): Promise<boolean> {
  const keys = ['status', 'seeder', 'infoHash', 'completedLength', 'totalLength'];
  try {
    const response = await fetch(`http://127.0.0.1:${probe.rpcPort}/jsonrpc`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 'ready',
        method: 'aria2.tellActive',
        params: [`token:${probe.rpcSecret}`, keys],
      }),
      signal: AbortSignal.timeout(RPC_TIMEOUT_MS),
    });
    if (!response.ok) return false;
    const body: unknown = await response.json();
    if (!isRecord(body) || !Array.isArray(body.result)) return false;
    return body.result.some(
      (entry: unknown) =>
        isRecord(entry) &&
        entry.infoHash === probe.infoHash &&
        entry.status === 'active' &&
        entry.seeder === 'true' &&
        entry.completedLength === entry.totalLength,
    );
  } catch {
    return false; // RPC not up yet
  }
}

/**
 * BEP 48 scrape of one info hash: how many seeders the tracker knows. -1 when it cannot tell
 * (no "announce" path to turn into "scrape", tracker down, unexpected reply).
 */
async function scrapeComplete(announceUrl: string, infoHash: string): Promise<number> {
  const url = new URL(announceUrl);
  const segments = url.pathname.split('/');
  const last = segments.at(-1) ?? '';
  if (!last.startsWith('announce')) return -1;
  segments[segments.length - 1] = last.replace('announce', 'scrape');
  url.pathname = segments.join('/');
  const hashParam = (infoHash.match(/../g) ?? []).map((byte) => `%${byte}`).join('');
  url.search = url.search === '' ? `info_hash=${hashParam}` : `${url.search.slice(1)}&info_hash=${hashParam}`;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(RPC_TIMEOUT_MS) });
    if (!response.ok) return -1;
    // Bencoded `d5:filesd20:<hash>d8:completei<N>e...`; one hash was asked for, so one match.
    const body = Buffer.from(await response.arrayBuffer()).toString('latin1');
    const match = /8:completei(\d+)e/.exec(body);
    return match?.[1] !== undefined ? Number(match[1]) : -1;
  } catch {
    return -1;
  }
}

async function stopProcess(child: ChildProcess, exited: Promise<void>, hasExited: () => boolean): Promise<void> {
  if (hasExited()) return;
  child.kill('SIGTERM'); // aria2c shuts down at once on SIGTERM
  if (await settlesWithin(exited, TERM_GRACE_MS)) return;
  child.kill('SIGKILL');
  if (!(await settlesWithin(exited, KILL_WAIT_MS))) {
    throw new Error(`native seeder pid ${child.pid} did not exit after SIGKILL`);
  }
}

function assertLoopbackUrl(raw: string): void {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`native seeder: not a URL: ${raw}`);
  }
  // Only IPv4 loopback literals: no name to resolve, nothing that can leave the machine.
  const loopback = /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(url.hostname);
  if (!loopback || !['http:', 'https:'].includes(url.protocol) || raw.includes(',')) {
    throw new Error(`native seeder: refusing non-loopback tracker or web seed ${raw} (network safety)`);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
