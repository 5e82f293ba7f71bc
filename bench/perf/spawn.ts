/**
 * Child processes of the benchmark: every one is registered, so a failure or Ctrl-C kills them
 * all; each also dies with the harness (setpriv --pdeathsig, stdin EOF, aria2c
 * --stop-with-process), and each stop is bounded in time.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import { settlesWithin } from '../../tests/helpers/wait.js';

const LOG_CAP = 1024 * 1024;
const TERM_GRACE_MS = 4_000;
const KILL_WAIT_MS = 4_000;

const live = new Set<Managed>();

const HAS_SETPRIV = spawnSync('setpriv', ['--help'], { stdio: 'pipe' }).status === 0;

export interface SpawnOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Called with each complete stdout line. */
  onLine?: (line: string) => void;
}

export class Managed {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly spawnedAt: number;
  exitStatus: string | undefined;
  readonly exited: Promise<void>;
  private output = '';
  private partial = '';

  constructor(
    readonly name: string,
    command: string,
    args: readonly string[],
    options: SpawnOptions = {},
  ) {
    // setpriv execs the command (same pid) after asking the kernel to SIGKILL it if we die.
    const [file, argv] = HAS_SETPRIV
      ? ['setpriv', ['--pdeathsig', 'KILL', '--', command, ...args]]
      : [command, [...args]];
    this.spawnedAt = performance.timeOrigin + performance.now();
    this.child = spawn(file, argv, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    if (this.child.pid === undefined) throw new Error(`cannot start ${command}`);
    this.pid = this.child.pid;
    live.add(this);
    this.exited = new Promise<void>((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exitStatus = signal !== null ? `signal ${signal}` : `code ${code}`;
        live.delete(this);
        resolve();
      });
    });
    this.child.on('error', (error) => this.append(`[spawn error] ${error.message}\n`));
    this.child.stdin?.on('error', () => undefined);
    this.child.stderr?.on('data', (chunk: Buffer) => this.append(chunk.toString('utf8')));
    this.child.stdout?.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      this.append(text);
      if (options.onLine === undefined) return;
      const lines = (this.partial + text).split('\n');
      this.partial = lines.pop() ?? '';
      for (const line of lines) options.onLine(line);
    });
  }

  private append(text: string): void {
    this.output += text;
    if (this.output.length > LOG_CAP) this.output = this.output.slice(-LOG_CAP);
  }

  log(): string {
    return this.output;
  }

  send(line: string): void {
    if (this.exitStatus === undefined && this.child.stdin?.writable) this.child.stdin.write(`${line}\n`);
  }

  /** `quit` on stdin (if asked), then SIGTERM, then SIGKILL; resolves once it has exited. */
  async stop(options: { quitFirstMs?: number } = {}): Promise<void> {
    if (this.exitStatus !== undefined) return;
    if (options.quitFirstMs !== undefined) {
      this.send('quit');
      if (await settlesWithin(this.exited, options.quitFirstMs)) return;
    }
    this.child.kill('SIGTERM');
    if (await settlesWithin(this.exited, TERM_GRACE_MS)) return;
    this.child.kill('SIGKILL');
    if (!(await settlesWithin(this.exited, KILL_WAIT_MS))) {
      throw new Error(`${this.name} (pid ${this.pid}) did not die`);
    }
  }
}

/** Kills every child still running (used on failure and on Ctrl-C). */
export async function stopAll(): Promise<void> {
  await Promise.allSettled([...live].map((child) => child.stop()));
}

/** Synchronous last resort for process 'exit'. */
export function killAllNow(): void {
  for (const child of live) child.child.kill('SIGKILL');
}

/** Resolves true when `check` holds, polling every `intervalMs`; false at the deadline. */
export async function pollUntil(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  intervalMs = 50,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  const maxPolls = Math.ceil(timeoutMs / intervalMs) + 1;
  for (let poll = 0; poll < maxPolls && Date.now() <= deadline; poll++) {
    if (await check()) return true;
    await delay(intervalMs);
  }
  return false;
}
