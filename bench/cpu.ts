import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** A process whose CPU time is attributed to the requests of a window. */
export interface Metered {
  name: string;
  pid: number;
}

/** CPU per request by process over one measured window, in microseconds. */
export interface CpuPerRequest {
  /** µs of CPU (user + system) per request, by process name */
  byProcess: Record<string, number>;
  /** everything the machine spent that no listed process did (kernel network work, other processes), µs per request */
  other: number;
  /** the machine's whole busy time per request, µs */
  total: number;
  /** share of the machine's CPU capacity (all cores) that was busy during the window */
  busy: number;
}

const TICK_US = 1e6 / Number(execFileSync('getconf', ['CLK_TCK']).toString().trim() || 100);

/** utime + stime of a process, in µs (0 if it is gone). */
function processUs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name (which may contain spaces): utime is the 14th field, stime the 15th.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) * TICK_US;
  } catch {
    return 0;
  }
}

/** The machine's busy and total time over all cores, in µs (/proc/stat's first line). */
function machineUs(): { busy: number; all: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest is already inside user)
  const all = f.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = f[3] + f[4];
  return { busy: (all - idle) * TICK_US, all: all * TICK_US };
}

/**
 * Where the CPU goes per request: the CPU time (from /proc, Linux only) of each listed process
 * and of the whole machine over a measured window, divided by the requests completed in it.
 * On a machine where the load generator, the services, Redis and MariaDB share the cores, this
 * is the budget a request costs; the cores divided by the total is the throughput they allow.
 */
export class CpuMeter {
  private start?: { procs: number[]; machine: { busy: number; all: number } };
  private end?: { procs: number[]; machine: { busy: number; all: number } };

  constructor(private readonly procs: Metered[]) {}

  begin(): void {
    this.start = this.sample();
  }

  finish(): void {
    this.end = this.sample();
  }

  perRequest(requests: number): CpuPerRequest | undefined {
    if (!this.start || !this.end || requests <= 0) return undefined;
    const byProcess: Record<string, number> = {};
    let listed = 0;
    this.procs.forEach((p, i) => {
      const us = this.end!.procs[i] - this.start!.procs[i];
      byProcess[p.name] = (byProcess[p.name] ?? 0) + us / requests;
      listed += us;
    });
    const busy = this.end.machine.busy - this.start.machine.busy;
    const all = this.end.machine.all - this.start.machine.all;
    return { byProcess, other: Math.max(0, busy - listed) / requests, total: busy / requests, busy: all > 0 ? busy / all : NaN };
  }

  private sample() {
    return { procs: this.procs.map((p) => processUs(p.pid)), machine: machineUs() };
  }
}

/** pids of every running process with this command name (e.g. `mariadbd`, `redis-server`). */
export function pidsOf(command: string): number[] {
  try {
    return execFileSync('pidof', [command]).toString().trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** "gateway 85 · envelope 60 · ... · other 20 = 350 µs/request (busy 97%)" */
export function formatCpu(c: CpuPerRequest | undefined): string {
  if (!c) return 'n/a';
  const parts = Object.entries(c.byProcess)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v.toFixed(0)}`);
  return `${[...parts, `other ${c.other.toFixed(0)}`].join(' · ')} = ${c.total.toFixed(0)} µs/request (machine busy ${(c.busy * 100).toFixed(0)}%)`;
}
