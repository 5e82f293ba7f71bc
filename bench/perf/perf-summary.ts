/**
 * Where a process's CPU goes, all threads and the kernel included, from a `perf record -g -p PID`
 * file: samples by category (SHA-1, V8 GC, JIT code, page-cache copies, TCP, page faults…), main
 * thread vs the others, and the top leaf symbols. The V8 profile (cpuprofile-summary.ts) sees only
 * JavaScript on the main thread; this sees the rest.
 *
 *   npx tsx bench/perf/perf-summary.ts <perf.data> [--top 25]
 */
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

interface Sample {
  pid: number;
  tid: number;
  sym: string;
  dso: string;
}

/** Leaf symbol of every sample (`perf script -G`: no call chains). */
export function readPerfSamples(file: string): Sample[] {
  const out = spawnSync('perf', ['script', '-i', file, '-F', 'pid,tid,ip,sym,dso', '-G'], {
    encoding: 'utf8',
    maxBuffer: 512 * 1024 * 1024,
    timeout: 300_000,
  });
  if (out.status !== 0) throw new Error(`perf script failed: ${out.stderr}`);
  const samples: Sample[] = [];
  for (const line of out.stdout.split('\n')) {
    const match = /^\s*(\d+)\/(\d+)\s+[0-9a-f]+\s+(.*?)\s+\(([^)]*)\)\s*$/.exec(line);
    if (match === null) continue;
    samples.push({ pid: Number(match[1]), tid: Number(match[2]), sym: match[3] ?? '', dso: match[4] ?? '' });
  }
  return samples;
}

const CATEGORIES: [string, (s: Sample) => boolean][] = [
  ['SHA-1 (OpenSSL)', (s) => /sha1/i.test(s.sym)],
  [
    'V8 garbage collection',
    (s) =>
      /v8::internal::(.*(Mark|Sweep|Scaveng|Evacuat|Heap|Compactor|MemoryChunk|Worklist|Remembered|Slot|Visitor|GC))/.test(
        s.sym,
      ) || /_Map_base<v8::internal::MemoryChunk/.test(s.sym),
  ],
  ['V8 compiler', (s) => /v8::internal::(compiler|maglev|baseline)|Turbofan/.test(s.sym)],
  ['JavaScript (JIT code, builtins)', (s) => /perf-\d+\.map/.test(s.dso) || /^Builtins_/.test(s.sym)],
  ['kernel: copy into page cache (file writes)', (s) => /copy_folio_from_iter|generic_perform_write|ext4_/.test(s.sym)],
  [
    'kernel: TCP receive/send',
    (s) => /_copy_to_iter|tcp_|skb|__sys_recv|sock_|inet_|ip_|__dev_queue|net_rx|loopback/.test(s.sym),
  ],
  [
    'kernel: page faults, mmap',
    (s) =>
      /page_fault|clear_page|do_anonymous|handle_mm_fault|rwsem|folio|__mmap|munmap|zap_|alloc_pages|lru/.test(s.sym),
  ],
  [
    'kernel: scheduler, futex, wakeups',
    (s) => /spin_unlock_irqrestore|schedule|futex|wake|finish_task_switch|irqentry|epoll/.test(s.sym),
  ],
  ['libc memset/memcpy (zero-fill, copies)', (s) => /memset|memmove|memcpy/.test(s.sym)],
  ['libc malloc/free', (s) => /malloc|free|unlink_chunk|_int_|arena|sysmalloc|calloc/.test(s.sym)],
  ['other kernel', (s) => s.dso.includes('kernel')],
  ['other node/V8 C++', (s) => s.dso.endsWith('/node')],
  ['other', () => true],
];

export function summarisePerf(samples: Sample[], pid: number, hz: number, top = 25): string {
  const mine = samples.filter((s) => s.pid === pid);
  const seconds = (n: number) => (n / hz).toFixed(2);
  const pct = (n: number) => ((n / Math.max(1, mine.length)) * 100).toFixed(1);
  const byCategory = new Map<string, { main: number; other: number }>();
  const bySymbol = new Map<string, number>();
  let main = 0;
  for (const sample of mine) {
    const [name] = CATEGORIES.find(([, test]) => test(sample)) ?? ['other'];
    const entry = byCategory.get(name) ?? { main: 0, other: 0 };
    if (sample.tid === pid) {
      entry.main++;
      main++;
    } else entry.other++;
    byCategory.set(name, entry);
    const key = `${sample.sym} (${sample.dso.replace(/^.*\//, '')})`;
    bySymbol.set(key, (bySymbol.get(key) ?? 0) + 1);
  }
  const lines = [
    `perf: ${mine.length} samples at ${hz} Hz ≈ ${seconds(mine.length)} CPU s; main thread ${seconds(main)} s, ` +
      `other threads ${seconds(mine.length - main)} s`,
    '',
    '| category | CPU s | % | main thread s | other threads s |',
    '|---|---|---|---|---|',
  ];
  for (const [name, { main: m, other: o }] of [...byCategory.entries()].sort(
    (a, b) => b[1].main + b[1].other - (a[1].main + a[1].other),
  )) {
    lines.push(`| ${name} | ${seconds(m + o)} | ${pct(m + o)} | ${seconds(m)} | ${seconds(o)} |`);
  }
  lines.push('', '| leaf symbol | CPU s | % |', '|---|---|---|');
  for (const [name, n] of [...bySymbol.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    lines.push(`| ${name.replace(/\|/g, '\\|').slice(0, 110)} | ${seconds(n)} | ${pct(n)} |`);
  }
  return lines.join('\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      top: { type: 'string', default: '25' },
      pid: { type: 'string' },
      hz: { type: 'string', default: '499' },
    },
  });
  if (positionals.length === 0) {
    console.error('usage: npx tsx bench/perf/perf-summary.ts <perf.data> [--pid PID] [--hz 499] [--top 25]');
    process.exit(2);
  }
  for (const file of positionals) {
    const samples = readPerfSamples(file);
    // Without --pid: the process with the most samples (a `perf record -p PID` file holds one).
    const counts = new Map<number, number>();
    for (const s of samples) counts.set(s.pid, (counts.get(s.pid) ?? 0) + 1);
    const pid =
      values.pid !== undefined ? Number(values.pid) : [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
    if (pid === undefined) throw new Error(`${file}: no samples`);
    console.log(`## ${file} (pid ${pid})\n\n${summarisePerf(samples, pid, Number(values.hz), Number(values.top))}\n`);
  }
}
