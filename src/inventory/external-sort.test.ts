import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { externalSort } from './external-sort.ts';

async function* records(n: number, seed = 7): AsyncGenerator<[string, string]> {
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const key = String(s % 100_000).padStart(6, '0') + `.${String(i).padStart(6, '0')}`;
    yield [key, JSON.stringify({ i, key })];
  }
}

async function collect(it: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const l of it) out.push(l);
  return out;
}

async function expected(n: number): Promise<string[]> {
  const all: [string, string][] = [];
  for await (const r of records(n)) all.push(r);
  return all.sort((a, b) => (a[0] < b[0] ? -1 : 1)).map((r) => r[1]);
}

test('sorts through run files and multi-round merges, then removes its temp folder', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'xsort-test-'));
  try {
    // 5000 records, chunks of 100 → 50 runs, fan-in 4 → several merge rounds.
    const got = await collect(externalSort(records(5000), { chunkSize: 100, fanIn: 4, tmpDir: dir }));
    assert.deepEqual(got, await expected(5000));
    assert.deepEqual(await readdir(dir), []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('limit: top-k in memory when small, early stop after a spill otherwise, temp folder removed either way', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'xsort-test-'));
  try {
    const all = await expected(3000);
    assert.deepEqual(
      await collect(externalSort(records(3000), { chunkSize: 500, limit: 37, tmpDir: dir })),
      all.slice(0, 37),
    );
    assert.deepEqual(
      await collect(externalSort(records(3000), { chunkSize: 100, limit: 1500, tmpDir: dir })),
      all.slice(0, 1500),
    );
    // Runs also end when the arena's bytes are used up.
    assert.deepEqual(await collect(externalSort(records(3000), { arenaBytes: 4096, tmpDir: dir })), all);
    // A consumer that stops early still cleans up.
    for await (const _ of externalSort(records(3000), { chunkSize: 100, tmpDir: dir })) break;
    assert.deepEqual(await readdir(dir), []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('keys must be printable ASCII (so string and byte order agree)', async () => {
  async function* bad(): AsyncGenerator<[string, string]> {
    yield ['caf\u00e9', 'x'];
  }
  await assert.rejects(collect(externalSort(bad())), RangeError);
});

test('keys that agree on their first 12 bytes, and keys shorter than that, still sort as strings do', async () => {
  const keys = [
    '000000000000.b',
    '000000000000.a',
    '000000000000',
    '0000000',
    '00000000000',
    'zz',
    'z',
    '000000000001',
  ];
  async function* recs(): AsyncGenerator<[string, string]> {
    for (const k of keys) yield [k, `line ${k}`];
  }
  const want = [...keys].sort().map((k) => `line ${k}`);
  // In one arena, and spilled to runs of two records merged back.
  assert.deepEqual(await collect(externalSort(recs())), want);
  assert.deepEqual(await collect(externalSort(recs(), { chunkSize: 2, limit: 2000 })), want);
});
