/**
 * The benches' network namespace (run.ts, wan-swarm.ts): as root, the command re-runs itself
 * inside `unshare -n` (a fresh namespace holding only `lo`, which it brings up) and the child
 * checks that `lo` is all there is and up (CHILLY_PERF_NETNS=1 marks the child).
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Re-runs this very command inside `unshare -n` (only `lo`, brought up) and exits with its code. */
async function reexecInNamespace(script: string): Promise<never> {
  const child = spawn(
    'unshare',
    [
      '--net',
      '--',
      'sh',
      '-c',
      'ip link set lo up && exec "$@"',
      'sh',
      process.execPath,
      ...process.execArgv,
      script,
      ...process.argv.slice(2),
    ],
    { stdio: 'inherit', env: { ...process.env, CHILLY_PERF_NETNS: '1' } },
  );
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
  const code = await new Promise<number>((resolve) => child.on('exit', (c, s) => resolve(c ?? (s ? 130 : 1))));
  process.exit(code);
}

/** Describes the namespace; exits when a private one holds anything but `lo`. */
function namespaceState(name: string): string {
  if (process.env.CHILLY_PERF_NETNS !== '1') return 'host network namespace (127.0.0.1 only)';
  // /proc/self/net/dev lists the interfaces of this process's namespace (/sys/class/net may not).
  const links = readFileSync('/proc/self/net/dev', 'utf8')
    .split('\n')
    .slice(2)
    .map((line) => line.split(':')[0]?.trim() ?? '')
    .filter((link) => link !== '');
  if (links.length !== 1 || links[0] !== 'lo') {
    console.error(`${name}: network namespace has ${links.join(', ')}, expected only lo`);
    process.exit(1);
  }
  const up = /UP/.test(spawnSync('ip', ['-o', 'link', 'show', 'lo'], { encoding: 'utf8' }).stdout ?? '');
  if (!up) {
    console.error(`${name}: lo is not up in the network namespace`);
    process.exit(1);
  }
  return 'private network namespace with only `lo` (unshare -n)';
}

/**
 * As root (unless `noNetns`), re-runs the command in a private namespace and never returns; in
 * that child, or when it cannot, returns a description of where it runs.
 */
export async function enterNamespace(name: string, noNetns: boolean): Promise<string> {
  if (process.env.CHILLY_PERF_NETNS !== '1' && !noNetns && process.getuid?.() === 0) {
    if (spawnSync('unshare', ['--net', 'true']).status === 0) {
      await reexecInNamespace(process.argv[1] ?? '');
    }
    console.error(`${name}: unshare -n does not work here; running in the host namespace on 127.0.0.1`);
  }
  return namespaceState(name);
}
