/**
 * Runs the BUILT `chilly` command (dist/src/cli/main.js) as a child process, with an environment
 * of the test's choosing only (no HOME or XDG folders of the machine's user), a deadline on every
 * run, and a registry that kills whatever is still running when the test ends.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI_PATH = path.join(REPO_ROOT, 'dist/src/cli/main.js');
// Outside dist/, which a build empties first.
const LOCK_DIR = path.join(REPO_ROOT, 'node_modules/.cache/chilly-build-lock');

/** Whether dist/ is built from the sources as they are (scripts/ensure-build.mjs keeps the fingerprint). */
function buildIsCurrent(): boolean {
  const check = spawnSync(process.execPath, [path.join(REPO_ROOT, 'scripts/ensure-build.mjs'), '--check'], {
    cwd: REPO_ROOT,
    stdio: 'ignore',
    timeout: 30_000,
  });
  return check.status === 0;
}

/**
 * Builds dist/ (`npm run build`: tsc and the engine bundle) unless it was built from these very
 * sources. Test files running in parallel take turns through a lock folder, so only one builds.
 */
export function ensureCliBuilt(): void {
  if (buildIsCurrent()) return;
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      mkdirSync(path.dirname(LOCK_DIR), { recursive: true });
      mkdirSync(LOCK_DIR);
      break;
    } catch {
      // Another test file is building; a lock older than 3 minutes was left by a killed run.
      const lockedAt = statSync(LOCK_DIR, { throwIfNoEntry: false })?.mtimeMs;
      if (lockedAt !== undefined && lockedAt < Date.now() - 180_000) rmSync(LOCK_DIR, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error('timed out waiting for another build of dist/');
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
    }
  }
  try {
    if (buildIsCurrent()) return;
    const result = spawnSync(process.execPath, [path.join(REPO_ROOT, 'scripts/build.mjs')], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      timeout: 170_000,
    });
    if (result.status !== 0) throw new Error(`npm run build failed:\n${result.stdout}${result.stderr}`);
  } finally {
    rmSync(LOCK_DIR, { recursive: true, force: true });
  }
}

/** An environment with nothing from the machine but PATH, pointing every per-user folder at `home`. */
export function isolatedEnv(home: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    XDG_CONFIG_HOME: path.join(home, '.config'),
    XDG_DATA_HOME: path.join(home, '.local', 'share'),
    // Nothing a test starts may reach beyond the machine.
    CHILLY_NETWORK: 'loopback',
    NO_COLOR: '1',
    ...extra,
  };
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunningCli {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves once stdout matches; rejects when the process exits first or after `timeoutMs`. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Resolves with the result when the process exits; kills it after `timeoutMs`. */
  exited(timeoutMs?: number): Promise<CliResult>;
  kill(): void;
}

const running = new Set<ChildProcess>();

/** Kills every CLI child still running (call from `after`). */
export function killAllCli(): void {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}

export function startChilly(
  args: readonly string[],
  options: { env: Record<string, string>; cwd?: string },
): RunningCli {
  const child = spawn(process.execPath, [CLI_PATH, ...args], {
    env: options.env,
    cwd: options.cwd ?? REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let stdout = '';
  let stderr = '';
  const listeners = new Set<() => void>();
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    for (const listener of listeners) listener();
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exit = new Promise<CliResult>((resolve) => {
    child.once('close', (code, signal) => {
      running.delete(child);
      for (const listener of listeners) listener();
      resolve({ code, signal, stdout, stderr });
    });
  });
  let exitedAlready = false;
  void exit.then(() => {
    exitedAlready = true;
  });
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    waitForOutput(pattern, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const match = stdout.match(pattern);
          if (match !== null) {
            done();
            resolve(match);
          } else if (exitedAlready || child.exitCode !== null) {
            done();
            reject(new Error(`chilly ${args.join(' ')} exited before printing ${pattern}:\n${stdout}\n${stderr}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${pattern}:\n${stdout}\n${stderr}`));
        }, timeoutMs);
        const done = (): void => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      });
    },
    async exited(timeoutMs = 60_000) {
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      try {
        return await exit;
      } finally {
        clearTimeout(timer);
      }
    },
    kill() {
      child.kill('SIGKILL');
    },
  };
}

/** Runs `chilly <args>` to the end (killed after `timeoutMs`). */
export function runChilly(
  args: readonly string[],
  options: { env: Record<string, string>; cwd?: string; timeoutMs?: number },
): Promise<CliResult> {
  return startChilly(args, options).exited(options.timeoutMs ?? 60_000);
}
