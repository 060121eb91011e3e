import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsStore } from '../storage/fs/index.ts';
import { createLogger } from '../log.ts';
import { schedulePurge, type RetentionSettings } from './job.ts';

const DAY = 86_400_000;

test('schedulePurge: an interval longer than a timer can hold (30d) waits, it does not purge back to back', async () => {
  const repo = await mkdtemp(join(tmpdir(), 'fileupload-schedule-'));
  const store = new FsStore(repo, { durable: false });
  await store.open();
  const settings: RetentionSettings = {
    slotLifetime: 300_000,
    maxAge: undefined,
    maxAgePurposes: ['message'],
    maxRepoSize: undefined,
    purgeInterval: 30 * DAY,
    minUploadRate: 4096,
    maxFileSize: 52_428_800,
  };
  // Every delay handed to setTimeout, to see that none overflows (that would make a busy loop).
  const delays: number[] = [];
  const realSetTimeout = globalThis.setTimeout;
  globalThis.setTimeout = ((fn: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    delays.push(ms ?? 0);
    return realSetTimeout(fn, ms, ...args);
  }) as typeof setTimeout;
  let runs = 0;
  let firstRun: () => void = () => {};
  const ran = new Promise<void>((resolve) => (firstRun = resolve));
  const schedule = schedulePurge({
    settings: () => settings,
    repo,
    store,
    logger: createLogger({}, { write: () => {} }),
    initialDelay: 0,
    onSummary: () => {
      runs++;
      firstRun();
    },
  });
  try {
    await ran;
    // setTimeout fires at once for delays past 2^31−1 ms: without the re-arming, purge would run
    // again and again here. A slow machine can only make the count smaller, never larger.
    await new Promise((r) => realSetTimeout(r, 300));
    assert.equal(runs, 1);
    assert.ok(
      delays.every((d) => d <= 2 ** 31 - 1),
      `delays past a timer's range: ${delays.filter((d) => d > 2 ** 31 - 1).length}`,
    );
    assert.ok(delays.length < 10, `${delays.length} timers armed: the schedule spins`);
  } finally {
    globalThis.setTimeout = realSetTimeout;
    await schedule.stop();
    await store.close();
    await rm(repo, { recursive: true, force: true });
  }
});
