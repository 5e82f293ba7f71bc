/**
 * CPU time and memory of a process tree, from /proc (Linux only).
 *
 * CPU: utime + stime of every process seen in the tree, plus cutime + cstime (children it has
 * already reaped). Memory: VmHWM (the kernel's own peak RSS of each process, exact even between
 * samples), summed over the tree; and the largest sum of RssAnon seen in samples (RSS without
 * file-backed pages: libtorrent 2 maps the files it writes, and those pages count in its RSS).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

const CLOCK_TICKS = (() => {
  try {
    const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isFinite(ticks) && ticks > 0 ? ticks : 100;
  } catch {
    return 100;
  }
})();

interface ProcStat {
  pid: number;
  ppid: number;
  /** utime + stime + cutime + cstime, in seconds. */
  cpuSeconds: number;
}

function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name is in parentheses and may itself hold spaces or parentheses.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const num = (index: number): number => Number(fields[index] ?? 0);
  // After ")": state(0) ppid(1) … utime(11) stime(12) cutime(13) cstime(14).
  return { pid, ppid: num(1), cpuSeconds: (num(11) + num(12) + num(13) + num(14)) / CLOCK_TICKS };
}

/** kB fields of /proc/<pid>/status, in bytes. */
function readStatus(pid: number): { hwm: number; rss: number; anon: number } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const field = (name: string): number => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text);
    return match?.[1] === undefined ? 0 : Number(match[1]) * 1024;
  };
  return { hwm: field('VmHWM'), rss: field('VmRSS'), anon: field('RssAnon') };
}

/** The pid and all its live descendants. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(Number(entry));
    if (stat === undefined) continue;
    const list = children.get(stat.ppid) ?? [];
    list.push(stat.pid);
    children.set(stat.ppid, list);
  }
  const tree: number[] = [];
  const queue = [root];
  for (let i = 0; i < queue.length && i < 10_000; i++) {
    const pid = queue[i] as number;
    tree.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return tree;
}

export interface TreeUsage {
  cpuSeconds: number;
  /** CPU seconds since this sampler started (for a long-lived process such as a seeder). */
  cpuSecondsSinceStart: number;
  /** Largest sampled sum of VmRSS (bytes) while this sampler ran. */
  sampledPeakRss: number;
  /** Sum of VmHWM over the processes of the tree (bytes). */
  peakRss: number;
  /** Largest sampled sum of RssAnon (bytes). */
  peakAnon: number;
}

/** Follows one process tree; call sample() periodically and once more right before reading. */
export class TreeSampler {
  private readonly cpu = new Map<number, number>();
  private readonly hwm = new Map<number, number>();
  private maxAnon = 0;
  private maxRss = 0;
  private readonly initialCpu: number;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly root: number,
    intervalMs = 100,
  ) {
    this.initialCpu = this.sample().cpuSeconds;
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  sample(): TreeUsage {
    let anon = 0;
    let rss = 0;
    const pids = readStat(this.root) === undefined ? [] : processTree(this.root);
    for (const pid of pids) {
      const stat = readStat(pid);
      const status = readStatus(pid);
      if (stat !== undefined) this.cpu.set(pid, stat.cpuSeconds);
      if (status !== undefined) {
        this.hwm.set(pid, Math.max(this.hwm.get(pid) ?? 0, status.hwm));
        anon += status.anon;
        rss += status.rss;
      }
    }
    this.maxAnon = Math.max(this.maxAnon, anon);
    this.maxRss = Math.max(this.maxRss, rss);
    return this.usage();
  }

  usage(): TreeUsage {
    const sum = (values: Iterable<number>): number => [...values].reduce((a, b) => a + b, 0);
    const cpuSeconds = sum(this.cpu.values());
    return {
      cpuSeconds,
      cpuSecondsSinceStart: cpuSeconds - (this.initialCpu ?? 0),
      sampledPeakRss: this.maxRss,
      peakRss: sum(this.hwm.values()),
      peakAnon: this.maxAnon,
    };
  }

  stop(): TreeUsage {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    return this.usage();
  }
}
