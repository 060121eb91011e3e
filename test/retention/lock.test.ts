/**
 * The maintenance lock between real processes: purge and slots rm refuse (exit 3) while another
 * process holds it, a killed holder does not block for ever, several contenders for a stale lock
 * produce exactly one holder, and two purges at once never delete anything twice.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { DAY, makeRepo } from './fixtures.ts';
import { maintenanceLockPath } from '../../src/purge/job.ts';

const HOLDER = fileURLToPath(new URL('./hold-lock.ts', import.meta.url));

interface Contender {
  child: ChildProcess;
  said: Promise<string>;
}

function contend(lockPath: string): Contender {
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', HOLDER, lockPath], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const said = new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    rl.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`contender exited (${code}) without a word`)));
  });
  return { child, said };
}

async function stop(c: Contender): Promise<void> {
  if (c.child.exitCode !== null || c.child.signalCode !== null) return;
  const exited = new Promise((r) => c.child.once('exit', r));
  c.child.stdin?.end();
  const t = setTimeout(() => c.child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(t);
}

test('while another process holds the lock, purge and slots rm exit 3; a killed holder is taken over', async () => {
  const repo = await makeRepo({ maxAge: '1d' });
  let holder: Contender | undefined;
  try {
    const old = await repo.add({ ageMs: 2 * DAY });
    holder = contend(maintenanceLockPath(repo.dir));
    assert.equal(await holder.said, 'acquired');
    const purge = await repo.cli('--json', 'purge');
    assert.equal(purge.code, 3);
    assert.equal(purge.stdout, '', 'no JSON document when nothing ran');
    assert.match(purge.stderr, /test-holder \(pid \d+ on .*\) holds the lock/);
    const rm = await repo.cli('slots', 'rm', old.id);
    assert.equal(rm.code, 3);
    assert.ok((await repo.store.stat(old.id)) !== undefined, 'nothing deleted while locked');

    // kill -9: the lock file stays behind, but its pid is gone on this machine.
    const dead = new Promise((r) => holder?.child.once('exit', r));
    holder.child.kill('SIGKILL');
    await dead;
    const after = await repo.cli('--json', 'purge');
    assert.equal(after.code, 0, after.stderr);
    assert.deepEqual(
      JSON.parse(after.stdout).deletions.map((d: { id: string }) => d.id),
      [old.id],
    );
  } finally {
    // A failed assertion above must not leave the holder running (the test file would hang).
    if (holder) await stop(holder);
    await repo.remove();
  }
});

test('several processes racing for a stale lock: exactly one holds it', async () => {
  const repo = await makeRepo();
  const contenders: Contender[] = [];
  try {
    const lockPath = maintenanceLockPath(repo.dir);
    const { mkdir } = await import('node:fs/promises');
    await mkdir(`${repo.dir}/locks`, { recursive: true });
    await writeFile(
      lockPath,
      JSON.stringify({
        host: 'gone-node',
        machine: 'gone-node/x/y',
        pid: 1,
        command: 'purge',
        started: 0,
        heartbeat: Date.now() - 3_600_000,
        token: 'stale',
      }),
    );
    for (let i = 0; i < 6; i++) contenders.push(contend(lockPath));
    const words = await Promise.all(contenders.map((c) => c.said));
    assert.equal(words.filter((w) => w === 'acquired').length, 1, `outcomes: ${words.join(', ')}`);
    assert.equal(words.filter((w) => w === 'held').length, 5, `outcomes: ${words.join(', ')}`);
  } finally {
    await Promise.all(contenders.map(stop));
    await repo.remove();
  }
});

test('two purges started together: each upload is deleted exactly once, the loser exits 3', async () => {
  const repo = await makeRepo({ maxAge: '1d' });
  try {
    const n = 400;
    for (let i = 0; i < n; i++) await repo.add({ ageMs: 2 * DAY, size: 10 });
    const [a, b] = await Promise.all([repo.cli('--json', 'purge'), repo.cli('--json', 'purge')]);
    const codes = [a.code, b.code].sort();
    assert.ok(
      codes[0] === 0 && (codes[1] === 0 || codes[1] === 3),
      `exit codes ${codes.join(', ')}: ${a.stderr}${b.stderr}`,
    );
    const deleted = [a, b]
      .filter((r) => r.code === 0)
      .flatMap((r) => (JSON.parse(r.stdout) as { deletions: Array<{ id: string; outcome: string }> }).deletions)
      .filter((d) => d.outcome === 'deleted');
    assert.equal(deleted.length, n);
    assert.equal(new Set(deleted.map((d) => d.id)).size, n);
  } finally {
    await repo.remove();
  }
});
