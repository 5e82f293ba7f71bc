/**
 * The markdown tables of wan-swarm.ts: one row per leecher (median over rounds, min–max beside
 * it), the same figures as ratios to libtorrent's, and the goals of issue 19 for our leechers.
 */
import type { RelayReport } from './relay.js';

export interface SwarmRun {
  leecher: string;
  round: number;
  ok: boolean;
  error?: string;
  /** From the moment the client was handed the torrent to its own verified completion. */
  seconds?: number;
  mibPerSecond?: number;
  /** Average rate / the healthy seeders' summed upload limits. */
  share?: number;
  /** To the first piece message the relays wrote to the leecher. */
  firstByteSeconds?: number;
  /** To bytes 0 … prefix−1 being there (verified). */
  prefixSeconds?: number;
  prefixSource?: string;
  /**
   * When the prefix could have been there had every seeder sent at its limit from its first piece
   * message to this client (wan/prefix-floor.ts): what the swarm's start leaves a client.
   */
  prefixFloorSeconds?: number;
  /** Bytes the relays wrote to the leecher up to completion, minus the file and its piece headers. */
  wastedBytes?: number;
  /** The client's own count of bytes it received beyond the file (when it has one). */
  clientWastedBytes?: number;
  cpuSeconds?: number;
  peakRssMiB?: number;
  peakAnonMiB?: number;
  /** CPU seconds of the seeders' and the relays' processes during the run (context: 2 cores). */
  seedersCpuSeconds?: number;
  relaysCpuSeconds?: number;
  /** Payload the seeders uploaded beyond what the relays read from them (should be ~0). */
  bypassBytes?: number;
  relay?: RelayReport;
  seederUploaded?: number[];
  /** Each relay's bytes to the leecher so far, about every second (seconds from the start). */
  timeline?: { t: number; perRelay: number[] }[];
  extra?: Record<string, unknown>;
}

const MiB = 1024 * 1024;

type Figure =
  | 'peakAnonMiB'
  | 'seconds'
  | 'mibPerSecond'
  | 'share'
  | 'firstByteSeconds'
  | 'prefixSeconds'
  | 'prefixFloorSeconds'
  | 'wastedMiB'
  | 'cpuSeconds'
  | 'peakRssMiB';

export interface Stat {
  median: number;
  min: number;
  max: number;
  n: number;
}

export interface LeecherSummary {
  id: string;
  runs: number;
  ok: number;
  figures: Record<Figure, Stat>;
  prefixSources: string[];
}

function figureOf(run: SwarmRun, figure: Figure): number | undefined {
  if (figure === 'wastedMiB') return run.wastedBytes === undefined ? undefined : run.wastedBytes / MiB;
  return run[figure];
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  if (s.length === 0) return Number.NaN;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

function stat(xs: readonly number[]): Stat {
  return {
    median: median(xs),
    min: xs.length === 0 ? Number.NaN : Math.min(...xs),
    max: xs.length === 0 ? Number.NaN : Math.max(...xs),
    n: xs.length,
  };
}

const FIGURES: readonly Figure[] = [
  'seconds',
  'mibPerSecond',
  'share',
  'firstByteSeconds',
  'prefixSeconds',
  'prefixFloorSeconds',
  'wastedMiB',
  'cpuSeconds',
  'peakRssMiB',
  'peakAnonMiB',
];

export function summarise(id: string, runs: readonly SwarmRun[]): LeecherSummary {
  const ok = runs.filter((run) => run.ok);
  const figures = Object.fromEntries(
    FIGURES.map((figure) => [
      figure,
      stat(ok.map((run) => figureOf(run, figure)).filter((v): v is number => v !== undefined && Number.isFinite(v))),
    ]),
  ) as Record<Figure, Stat>;
  const prefixSources = [...new Set(ok.map((run) => run.prefixSource).filter((s): s is string => s !== undefined))];
  return { id, runs: runs.length, ok: ok.length, figures, prefixSources };
}

const fixed = (digits: number) => (x: number) => (Number.isFinite(x) ? x.toFixed(digits) : '–');
const f0 = fixed(0);
const f1 = fixed(1);
const f2 = fixed(2);
const pct = (x: number) => (Number.isFinite(x) ? `${(x * 100).toFixed(0)} %` : '–');

/** "median (min–max)", or the median alone for one run. */
function cell(s: Stat, format: (x: number) => string): string {
  if (s.n === 0) return '–';
  if (s.n === 1 || s.min === s.max) return format(s.median);
  return `${format(s.median)} (${format(s.min)}–${format(s.max)})`;
}

export interface ReportInput {
  summaries: readonly LeecherSummary[];
  runs: readonly SwarmRun[];
  labels: Readonly<Record<string, string>>;
  prefixMiB: number;
  /** Leechers the goals apply to (ours, chilly). */
  goalsFor: readonly string[];
}

export function figuresTable({ summaries, labels, prefixMiB }: ReportInput): string[] {
  const out = [
    `| leecher | time s | MiB/s | share of healthy limits | first byte s | first ${prefixMiB} MiB s | its floor s | wasted MiB | CPU s | peak RSS MiB | peak anon MiB | ok |`,
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const s of summaries) {
    const f = s.figures;
    out.push(
      `| ${labels[s.id] ?? s.id} | ${cell(f.seconds, f1)} | ${cell(f.mibPerSecond, f1)} | ${cell(f.share, pct)} | ` +
        `${cell(f.firstByteSeconds, f2)} | ${cell(f.prefixSeconds, f2)}${s.prefixSources.length > 0 ? ` [${s.prefixSources.join(', ')}]` : ''} | ` +
        `${cell(f.prefixFloorSeconds, f2)} | ${cell(f.wastedMiB, f1)} | ${cell(f.cpuSeconds, f2)} | ${cell(f.peakRssMiB, f0)} | ${cell(f.peakAnonMiB, f0)} | ${s.ok}/${s.runs} |`,
    );
  }
  return out;
}

/** libtorrent with its defaults, and libtorrent streaming (sequential) for the first-N-MiB figure. */
function baselines(summaries: readonly LeecherSummary[]) {
  const lib = summaries.find((s) => s.id === 'lib' && s.ok > 0);
  const seq = summaries.find((s) => s.id === 'lib-seq' && s.ok > 0);
  return { lib, prefix: seq ?? lib };
}

export function ratioTable({ summaries, labels, prefixMiB }: ReportInput): string[] {
  const { lib, prefix } = baselines(summaries);
  if (lib === undefined || prefix === undefined) return ['(no libtorrent runs: no ratios)'];
  const ratio = (s: LeecherSummary, figure: Figure) =>
    s.figures[figure].median / (figure === 'prefixSeconds' ? prefix : lib).figures[figure].median;
  const times = (x: number) => (Number.isFinite(x) ? `${x.toFixed(2)} ×` : '–');
  const out = [
    `| leecher | time | MiB/s | first byte | first ${prefixMiB} MiB (vs ${prefix.id}) | wasted MiB (Δ vs lib) | CPU s | peak RSS |`,
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const s of summaries) {
    if (s.ok === 0) continue;
    const delta = s.figures.wastedMiB.median - lib.figures.wastedMiB.median;
    out.push(
      `| ${labels[s.id] ?? s.id} | ${times(ratio(s, 'seconds'))} | ${times(ratio(s, 'mibPerSecond'))} | ` +
        `${times(ratio(s, 'firstByteSeconds'))} | ${times(ratio(s, 'prefixSeconds'))} | ` +
        `${Number.isFinite(delta) ? `${delta >= 0 ? '+' : ''}${delta.toFixed(1)}` : '–'} | ` +
        `${times(ratio(s, 'cpuSeconds'))} | ${times(ratio(s, 'peakRssMiB'))} |`,
    );
  }
  return out;
}

/** The goals of issue 19, scope 1, for each of `goalsFor` that has runs. */
export function goalsTable(input: ReportInput): string[] {
  const { summaries, runs, goalsFor, prefixMiB } = input;
  const { lib, prefix: prefixBase } = baselines(summaries);
  const mark = (pass: boolean) => (pass ? '✅' : '❌');
  const rows: string[] = [];
  for (const id of goalsFor) {
    const s = summaries.find((x) => x.id === id && x.ok > 0);
    if (s === undefined) continue;
    const f = s.figures;
    rows.push(
      `| ${id} | share of healthy seeders' limits ≥ 90 % | ${cell(f.share, pct)} | ${mark(f.share.median >= 0.9)} |`,
    );
    if (lib !== undefined) {
      const pairs = runs
        .filter((run) => run.leecher === id && run.ok)
        .map((run) => [run, runs.find((l) => l.leecher === 'lib' && l.ok && l.round === run.round)] as const)
        .filter((pair): pair is readonly [SwarmRun, SwarmRun] => pair[1] !== undefined);
      const notSlower = pairs.filter(([ours, libRun]) => (ours.seconds ?? Infinity) <= (libRun.seconds ?? 0)).length;
      rows.push(
        `| ${id} | never slower than lib (time, same round) | ${f1(f.seconds.median)} s vs ${f1(lib.figures.seconds.median)} s; ` +
          `not slower in ${notSlower}/${pairs.length} rounds | ${mark(pairs.length > 0 && notSlower === pairs.length)} |`,
      );
      const libPrefix = (prefixBase ?? lib).figures.prefixSeconds.median;
      rows.push(
        `| ${id} | first ${prefixMiB} MiB ≤ 0.5 × ${(prefixBase ?? lib).id} (${f2(libPrefix)} → ≤ ${f2(libPrefix * 0.5)} s) and ≤ 1.5 s | ` +
          `${f2(f.prefixSeconds.median)} s (${f2(f.prefixSeconds.median / libPrefix)} ×; its floor ${f2(f.prefixFloorSeconds.median)} s) | ` +
          `${mark(f.prefixSeconds.median <= libPrefix * 0.5 && f.prefixSeconds.median <= 1.5)} |`,
      );
      rows.push(
        `| ${id} | CPU ≤ 2 × lib (${f2(lib.figures.cpuSeconds.median)} → ≤ ${f2(lib.figures.cpuSeconds.median * 2)} s) | ` +
          `${f2(f.cpuSeconds.median)} s (${f2(f.cpuSeconds.median / lib.figures.cpuSeconds.median)} ×) | ` +
          `${mark(f.cpuSeconds.median <= lib.figures.cpuSeconds.median * 2)} |`,
      );
      rows.push(
        `| ${id} | bytes wasted ≤ lib's (${f1(lib.figures.wastedMiB.median)} MiB) | ${f1(f.wastedMiB.median)} MiB | ` +
          `${mark(f.wastedMiB.median <= lib.figures.wastedMiB.median)} |`,
      );
    } else {
      rows.push(
        `| ${id} | first ${prefixMiB} MiB ≤ 1.5 s (no lib run to compare) | ${f2(f.prefixSeconds.median)} s (its floor ${f2(f.prefixFloorSeconds.median)} s) | ${mark(f.prefixSeconds.median <= 1.5)} |`,
      );
    }
    rows.push(
      `| ${id} | first byte ≤ 0.3 s | ${f2(f.firstByteSeconds.median)} s | ${mark(f.firstByteSeconds.median <= 0.3)} |`,
    );
  }
  if (rows.length === 0) return [];
  return ['| leecher | goal (issue 19) | measured (median) | |', '|---|---|---|---|', ...rows];
}
