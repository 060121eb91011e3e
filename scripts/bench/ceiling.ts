/**
 * The load generator's own ceiling: the benchmark's clients against a null server in another
 * process. A server under test that comes close to these figures is measuring the client.
 */
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { spawnTracked, stopTracked } from './cleanup.ts';
import { runHeadLoad } from './head-load.ts';
import { putMany } from './http-client.ts';
import { streamRequest } from './raw-stream.ts';
import { runWrk } from './wrk.ts';
import { cpuSeconds } from './proc.ts';
import { announcedPort } from './ports.ts';
import { measureSlotRate } from './xmpp-slots.ts';

export interface Ceiling {
  /** Single-stream PUT of `bytes` (MB/s, 10^6 bytes/s). */
  putMBps: number;
  /** Single-stream GET of `bytes` (MB/s). */
  getMBps: number;
  /** 2,000 × 64 KiB PUTs at concurrency 32 (files/s). */
  smallPutPerSec: number;
  /** wrk GET of 64 KiB, -c 64 -t 2 (req/s); the null server may be the limit here. */
  wrkGetPerSec: number;
  /** The HEAD client, 64 connections (req/s); the null server may be the limit here. */
  headPerSec: number;
  bytes: number;
}

const MB = 1e6;

/**
 * Starts the null server and runs each client once against it (after a short warm-up).
 *
 * @example
 * const c = await measureCeiling({ bytes: 1 << 30, wrkSeconds: 3 });
 */
export async function measureCeiling(opts: { bytes: number; wrkSeconds: number }): Promise<Ceiling> {
  const script = fileURLToPath(new URL('./null-server.ts', import.meta.url));
  const child = spawnTracked(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = await announcedPort(child, 'null server');
    const base = `http://127.0.0.1:${port}`;
    const signal = AbortSignal.timeout(120_000);
    await streamRequest({ url: `${base}/warm`, method: 'PUT', size: 64 << 20, signal });
    await streamRequest({ url: `${base}/bytes/${64 << 20}`, method: 'GET', signal });
    const put = await streamRequest({ url: `${base}/x`, method: 'PUT', size: opts.bytes, signal });
    const get = await streamRequest({ url: `${base}/bytes/${opts.bytes}`, method: 'GET', signal });
    if (get.bytes !== opts.bytes) throw new Error(`null server sent ${get.bytes} of ${opts.bytes} bytes`);
    const urls = Array.from({ length: 2000 }, (_, i) => `${base}/f${i}`);
    const many = await putMany(urls, 64 << 10, 32, signal);
    const wrk = await runWrk({
      url: `${base}/bytes/${64 << 10}`,
      connections: 64,
      threads: 2,
      seconds: opts.wrkSeconds,
    });
    const head = await runHeadLoad({
      url: `${base}/bytes/${64 << 10}`,
      connections: 64,
      threads: 1,
      seconds: opts.wrkSeconds,
    });
    return {
      putMBps: opts.bytes / MB / (put.ms / 1000),
      getMBps: opts.bytes / MB / (get.ms / 1000),
      smallPutPerSec: many.ok / (many.ms / 1000),
      wrkGetPerSec: wrk.requestsPerSec,
      headPerSec: head.requestsPerSec,
      bytes: opts.bytes,
    };
  } finally {
    await stopTracked(child, 1000);
  }
}

export interface SlotCeiling {
  /** Slots/s through Prosody with a component that does no work (32 in flight). */
  slotsPerSec: number;
  /** Prosody's CPU use meanwhile, in cores (1 = one core busy): near 1 means Prosody is the limit. */
  prosodyCores: number;
  /** The client's CPU use meanwhile, in cores. */
  clientCores: number;
}

/**
 * Slot rate through Prosody with the null component in place of serve: the most any component
 * can get through this Prosody here. Must run while serve is not connected (same domain).
 *
 * @example
 * const c = await measureSlotCeiling({ c2sPort, componentPort, componentDomain, componentSecret, prosodyPid, user, password });
 */
export async function measureSlotCeiling(o: {
  c2sPort: number;
  componentPort: number;
  componentDomain: string;
  componentSecret: string;
  prosodyPid: number;
  user: string;
  password: string;
  seconds: number;
}): Promise<SlotCeiling> {
  const script = fileURLToPath(new URL('./null-component.ts', import.meta.url));
  const child = spawnTracked(
    process.execPath,
    [script, '127.0.0.1', String(o.componentPort), o.componentDomain, o.componentSecret],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`null component: no handshake in 5 s ${stderr}`)), 5000);
      createInterface({ input: child.stdout! }).once('line', () => {
        clearTimeout(timer);
        resolve();
      });
      child.once('exit', () => reject(new Error(`null component exited: ${stderr}`)));
    });
    const p0 = cpuSeconds(o.prosodyPid);
    const c0 = cpuSeconds('self');
    const r = await measureSlotRate({
      host: '127.0.0.1',
      port: o.c2sPort,
      domain: 'localhost',
      user: o.user,
      password: o.password,
      component: o.componentDomain,
      outstanding: 32,
      total: 100_000,
      maxMs: o.seconds * 1000,
    });
    const secs = r.ms / 1000;
    return {
      slotsPerSec: r.perSec,
      prosodyCores: (cpuSeconds(o.prosodyPid) - p0) / secs,
      clientCores: (cpuSeconds('self') - c0) / secs,
    };
  } finally {
    await stopTracked(child, 1000);
  }
}
