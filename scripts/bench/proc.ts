/**
 * What the kernel says about processes and the machine (Linux /proc): resident memory, CPU time,
 * load. Every read is synchronous and tiny, so sampling at 20 ms costs the load generator little.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';

const CLK_TCK = 100; // USER_HZ on every Linux build that matters; /proc/*/stat counts in it.

/** Fields of /proc/PID/status in KiB (VmRSS, VmHWM), or undefined when the process is gone. */
export function memKiB(pid: number): { rss: number; hwm: number } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'latin1');
  } catch {
    return undefined;
  }
  const field = (name: string): number => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text);
    return m ? Number(m[1]) : 0;
  };
  return { rss: field('VmRSS'), hwm: field('VmHWM') };
}

/** Parses the fields after the `(comm)` of /proc/PID/stat; index 0 is `state`. */
function statFields(pid: number | 'self'): string[] | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
}

/**
 * CPU seconds a process has used: its own (all threads) plus, with `withChildren`, the children
 * it has already reaped. 0 when it is gone.
 *
 * @example
 * const before = cpuSeconds(pid); await work(); const used = cpuSeconds(pid) - before;
 */
export function cpuSeconds(pid: number | 'self', withChildren = true): number {
  const f = statFields(pid);
  if (!f) return 0;
  // state=0 ppid=1 … utime=11 stime=12 cutime=13 cstime=14 (man 5 proc, minus the first two fields)
  const own = Number(f[11]) + Number(f[12]);
  const children = withChildren ? Number(f[13]) + Number(f[14]) : 0;
  return (own + children) / CLK_TCK;
}

/**
 * Pids whose parent is `pid` (e.g. nginx's workers), by scanning /proc.
 *
 * @example
 * const workers = childPids(masterPid);
 */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const f = statFields(Number(name));
    if (f && Number(f[1]) === pid) out.push(Number(name));
  }
  return out;
}

/** Summed VmRSS (KiB) of several processes; a vanished one counts 0. */
function rssSum(pids: readonly number[]): number {
  let sum = 0;
  for (const pid of pids) sum += memKiB(pid)?.rss ?? 0;
  return sum;
}

export interface RssPeak {
  /** Highest summed VmRSS seen while sampling (KiB). */
  peakKiB: number;
  /** Summed VmHWM when sampling stopped (KiB): a lifetime peak, an upper bound for the phase. */
  hwmKiB: number;
  samples: number;
}

/**
 * Samples the summed VmRSS of `pids()` every `intervalMs` until stop() (a phase cannot reset
 * VmHWM, so the per-phase peak has to be sampled).
 *
 * @example
 * const s = sampleRss(() => server.pids, 20); await phase(); const { peakKiB } = s.stop();
 */
export function sampleRss(pids: () => readonly number[], intervalMs = 20): { stop(): RssPeak } {
  let peakKiB = rssSum(pids());
  let samples = 1;
  const timer = setInterval(() => {
    const now = rssSum(pids());
    if (now > peakKiB) peakKiB = now;
    samples++;
  }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      const list = pids();
      const last = rssSum(list);
      if (last > peakKiB) peakKiB = last;
      let hwmKiB = 0;
      for (const pid of list) hwmKiB += memKiB(pid)?.hwm ?? 0;
      return { peakKiB, hwmKiB, samples: samples + 1 };
    },
  };
}

/** Machine-wide CPU counters from the first line of /proc/stat, in seconds. */
export interface CpuTotals {
  user: number;
  nice: number;
  system: number;
  idle: number;
  iowait: number;
  irq: number;
  softirq: number;
  steal: number;
}

/**
 * Reads the aggregate `cpu` line of /proc/stat.
 *
 * @example
 * const a = cpuTotals(); await run(); const busy = busySeconds(diffCpu(a, cpuTotals()));
 */
export function cpuTotals(): CpuTotals {
  const line = readFileSync('/proc/stat', 'latin1').split('\n', 1)[0] ?? '';
  const n = line
    .trim()
    .split(/\s+/)
    .slice(1)
    .map((v) => Number(v) / CLK_TCK);
  return {
    user: n[0] ?? 0,
    nice: n[1] ?? 0,
    system: n[2] ?? 0,
    idle: n[3] ?? 0,
    iowait: n[4] ?? 0,
    irq: n[5] ?? 0,
    softirq: n[6] ?? 0,
    steal: n[7] ?? 0,
  };
}

/** b − a, field by field. */
export function diffCpu(a: CpuTotals, b: CpuTotals): CpuTotals {
  const out = { ...b };
  for (const k of Object.keys(out) as (keyof CpuTotals)[]) out[k] = b[k] - a[k];
  return out;
}

/** CPU seconds spent neither idle nor waiting for I/O (steal excluded: not ours to spend). */
export function busySeconds(c: CpuTotals): number {
  return c.user + c.nice + c.system + c.irq + c.softirq;
}

export interface MachineNoise {
  loadavgBefore: [number, number, number];
  loadavgAfter: [number, number, number];
  wallSeconds: number;
  cores: number;
  /** Busy CPU share of the whole machine during the interval (0..1 of all cores). */
  busyShare: number;
  /** CPU time of processes that are not this benchmark, its servers or its clients, as share of all cores. */
  otherShare: number;
  /** Stolen by the hypervisor, as share of all cores. */
  stealShare: number;
  iowaitShare: number;
}

/**
 * Measures how busy the machine was between start() and stop(): total busy CPU from /proc/stat
 * minus our own (this process, reaped children, and the live processes `ours()` lists).
 *
 * @example
 * const noise = watchMachine(() => [prosody.pid]); await runAll(); report.noise = noise.stop();
 */
export function watchMachine(ours: () => readonly number[]): { stop(): MachineNoise } {
  const lb = loadavg() as [number, number, number];
  const t0 = performance.now();
  const c0 = cpuTotals();
  const ownCpu = () => cpuSeconds('self') + ours().reduce((s, pid) => s + cpuSeconds(pid), 0);
  const o0 = ownCpu();
  return {
    stop() {
      const d = diffCpu(c0, cpuTotals());
      const o1 = ownCpu();
      const wallSeconds = (performance.now() - t0) / 1000;
      const cores = Math.max(1, cpus().length);
      const all = wallSeconds * cores;
      const busy = busySeconds(d);
      return {
        loadavgBefore: lb,
        loadavgAfter: loadavg() as [number, number, number],
        wallSeconds,
        cores,
        busyShare: busy / all,
        otherShare: Math.max(0, busy - (o1 - o0)) / all,
        stealShare: d.steal / all,
        iowaitShare: d.iowait / all,
      };
    },
  };
}
