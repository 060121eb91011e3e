import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { once } from 'node:events';
import { SECRET } from './support/http-kit.ts';
import { newSlotId } from '../src/slots/id.ts';
import { signSlot } from '../src/slots/sign.ts';
import { FsStore } from '../src/storage/fs/index.ts';

/**
 * kill -9 of the endpoint in the middle of an upload: nothing partial is ever served, and every
 * upload that got 201 before is served byte-identical by the restarted process.
 */

const node = join(import.meta.dirname, '..', 'scripts', 'node24');
const child = join(import.meta.dirname, 'support', 'http-child.ts');
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

async function startChild(dir: string): Promise<{ proc: ChildProcess; url: string }> {
  const proc = spawn(node, [child, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  proc.stdout!.setEncoding('utf8');
  for await (const chunk of proc.stdout!) {
    out += chunk;
    if (out.includes('\n')) break;
  }
  return { proc, url: out.trim() };
}

function slot(url: string, size: number): { put: string; get: string; id: string } {
  const id = newSlotId();
  const now = Date.now();
  const token = signSlot(SECRET, {
    id,
    filename: 'f.bin',
    size,
    uploader: 'a@example.org',
    issuedAt: now,
    expiresAt: now + 300_000,
    purpose: 'message',
  });
  const get = `${url}/httpfileupload/${id}/f.bin`;
  return { id, get, put: `${get}?t=${token}` };
}

test('kill -9 mid-upload: nothing partial served; everything that got 201 survives', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fileupload-crash-'));
  let proc: ChildProcess | undefined;
  try {
    const first = await startChild(dir);
    proc = first.proc;
    const done: { get: string; hash: string }[] = [];
    for (const size of [10, 200_000, 3 * 1024 * 1024]) {
      const data = randomBytes(size);
      const s = slot(first.url, size);
      const res = await fetch(s.put, { method: 'PUT', body: data });
      assert.equal(res.status, 201);
      done.push({ get: s.get, hash: sha(data) });
    }
    // An upload in flight: half the body sent, then the process dies.
    const size = 4 * 1024 * 1024;
    const partial = slot(first.url, size);
    const req = request(partial.put, { method: 'PUT', headers: { 'content-length': String(size) } });
    req.on('error', () => {});
    req.write(Buffer.alloc(size / 2, 7));
    for (let i = 0; i < 200 && (await readdir(join(dir, 'tmp'))).length === 0; i++)
      await new Promise((r) => setTimeout(r, 10));
    assert.equal((await readdir(join(dir, 'tmp'))).length, 1, 'the upload is in progress');
    proc.kill('SIGKILL');
    await once(proc, 'exit');
    req.destroy();

    const second = await startChild(dir);
    proc = second.proc;
    for (const d of done) {
      const res = await fetch(d.get.replace(/^http:\/\/[^/]+/, second.url));
      assert.equal(res.status, 200);
      assert.equal(sha(new Uint8Array(await res.arrayBuffer())), d.hash);
    }
    const res = await fetch(partial.get.replace(/^http:\/\/[^/]+/, second.url));
    assert.equal(res.status, 404, 'the interrupted upload is not served');
    const store = new FsStore(dir);
    const leftovers = [];
    for await (const p of store.listPartial()) leftovers.push(p.name);
    assert.equal(leftovers.length, 1, 'the leftover temp file is visible to purge');
    assert.ok(leftovers[0]!.startsWith(partial.id));
  } finally {
    proc?.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
});
