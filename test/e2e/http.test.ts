/**
 * The HTTP side of issue 3 end to end (Prosody + serve): every PUT refusal, what a broken upload
 * leaves, GET/HEAD headers, Range, conditional requests, CORS, 404 and path traversal.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, lstatSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generatedBody, http, randomFile, sha256 } from '../support/http.ts';
import { mustGetSlot, putToSlot, startStack, type SlotOk, type Stack } from '../support/stack.ts';
import { listTree, waitFor } from '../support/serve.ts';
import { NS_UPLOAD_0, NS_UPLOAD_LEGACY } from '../support/xmpp-client.ts';
import { signSlot } from '../../src/slots/sign.ts';
import { slotUrls } from '../../src/slots/urls.ts';
import { newSlotId } from '../../src/slots/id.ts';

const KiB = 1024;

describe('HTTP endpoint', () => {
  let stack: Stack;
  let repo: string;
  before(async () => {
    stack = await startStack('prosody', { maxFileSize: 8 * 1024 * 1024 });
    repo = String(stack.config.fileRepo);
  });
  after(() => stack?.stop());

  /** A legacy slot (URL only, no headers): whatever proves the PUT is in the URL. */
  const legacySlot = (filename: string, size: number, contentType?: string) =>
    mustGetSlot(stack.alice, stack.service, {
      namespace: NS_UPLOAD_LEGACY,
      shape: 'children',
      filename,
      size,
      ...(contentType ? { contentType } : {}),
    });
  const slot0 = (filename: string, size: number, contentType?: string) =>
    mustGetSlot(stack.alice, stack.service, {
      namespace: NS_UPLOAD_0,
      shape: 'attributes',
      filename,
      size,
      ...(contentType ? { contentType } : {}),
    });
  const idOf = (slot: SlotOk) => new URL(slot.get).pathname.split('/').at(-2)!;

  // Alone (the other groups run after it), so that any file left in the repository is its own.
  describe('a broken upload', () => {
    it('a client abort leaves nothing visible and no temp file; the slot can be retried', async () => {
      const file = randomFile(512 * KiB);
      const slot = await legacySlot('abort.bin', file.length);
      // usage/total.json is serve's own: its figures sampler writes it once after start, whenever
      // that gets its turn, which on a busy machine can be during this upload.
      const tree = () => listTree(repo).filter((p) => p !== 'index/usage/total.json');
      const before = tree();
      const r = await putToSlot(slot, file, { abortAfterBytes: 200 * KiB });
      assert.equal(r.status, 0, 'no answer to an aborted upload');
      await waitFor(() => JSON.stringify(tree()) === JSON.stringify(before), {
        timeoutMs: 5000,
        describe: () =>
          `the repository to be as before the upload (left: ${tree()
            .filter((p) => !before.includes(p))
            .join(', ')})`,
      });
      assert.equal((await http(slot.get)).status, 404);
      assert.equal((await http(slot.get, { method: 'HEAD' })).status, 404);
      const retry = await putToSlot(slot, file);
      assert.equal(retry.status, 201);
      assert.equal((await http(slot.get)).bodySha256, sha256(file));
    });
  });

  describe('PUT refusals', { concurrency: true }, () => {
    it('403 for a forged token, an altered filename, a token of another slot, and no token', async () => {
      const file = randomFile(10 * KiB);
      const a = await legacySlot('a.bin', file.length);
      const b = await legacySlot('b.bin', file.length);
      const url = new URL(a.put);
      assert.notEqual(url.search, '', 'the PUT URL carries its proof');
      // Whatever the parameter is called, the proof is in the query: tamper with each value.
      const forged = new URL(a.put);
      for (const [k, v] of url.searchParams)
        forged.searchParams.set(k, v.slice(0, -4) + (v.endsWith('AAAA') ? 'BBBB' : 'AAAA'));
      const alteredName = a.put.replace('/a.bin', '/c.bin');
      const crossed = b.put.replace(new URL(b.put).search, url.search);
      const bare = a.get;
      for (const [what, target] of [
        ['forged', forged.toString()],
        ['altered filename', alteredName],
        ['token of another slot', crossed],
      ] as const) {
        const r = await http(target, { method: 'PUT', body: file });
        assert.equal(r.status, 403, `${what}: ${r.status} ${r.body.toString()}`);
      }
      const noToken = await http(bare, { method: 'PUT', body: file });
      assert.ok(noToken.status === 403 || noToken.status === 401, `no token: ${noToken.status}`);
      // Both slots are still usable: refusals consumed nothing.
      assert.equal((await putToSlot(a, file)).status, 201);
      assert.equal((await putToSlot(b, file)).status, 201);
    });

    it('403 for an expired slot (signed with the real secret)', async () => {
      const secret = String(stack.config.slotSecret);
      const endpoint = {
        protocol: 'http' as const,
        host: '127.0.0.1',
        port: Number(stack.config.webPort),
        contextRoot: '/httpfileupload',
      };
      const make = (expiresAt: number) => {
        const slot = {
          id: newSlotId(),
          filename: 'late.txt',
          size: 5,
          uploader: 'alice@localhost',
          issuedAt: Date.now() - 600_000,
          expiresAt,
          purpose: 'message' as const,
        };
        return { slot, urls: slotUrls(endpoint, slot.id, slot.filename, signSlot(secret, slot)) };
      };
      const expired = make(Date.now() - 1000);
      const r = await http(expired.urls.put, { method: 'PUT', body: 'hello' });
      assert.equal(r.status, 403, `expired: ${r.status} ${r.body.toString()}`);
      assert.equal((await http(expired.urls.get)).status, 404);
      // Control: the same construction, still valid, is accepted — so the 403 above was the expiry.
      const valid = make(Date.now() + 60_000);
      assert.equal((await http(valid.urls.put, { method: 'PUT', body: 'hello' })).status, 201);
    });

    it('413 when Content-Length differs from the slot size, either way', async () => {
      const file = randomFile(64 * KiB);
      const slot = await legacySlot('len.bin', file.length);
      const longer = await http(slot.put, { method: 'PUT', body: Buffer.concat([file, Buffer.from('x')]) });
      assert.equal(longer.status, 413);
      const shorter = await http(slot.put, { method: 'PUT', body: file.subarray(1) });
      assert.equal(shorter.status, 413);
      assert.equal((await http(slot.get)).status, 404);
      assert.equal((await putToSlot(slot, file)).status, 201);
    });

    it('413 for a chunked body that runs past the slot size; a chunked body of the right size is fine', async () => {
      const size = 256 * KiB;
      const over = await legacySlot('chunked-over.bin', size);
      const r = await http(over.put, { method: 'PUT', body: generatedBody(size + 64 * KiB, { chunkSize: 32 * KiB }) });
      assert.equal(r.status, 413, `${r.status} ${r.error ?? ''}`);
      assert.equal((await http(over.get)).status, 404);

      const short = await legacySlot('chunked-short.bin', size);
      const s = await http(short.put, { method: 'PUT', body: generatedBody(size - 1, { chunkSize: 32 * KiB }) });
      assert.ok(s.status >= 400 && s.status < 500, `short chunked body refused: ${s.status}`);
      assert.equal((await http(short.get)).status, 404);

      const exact = await legacySlot('chunked-exact.bin', size);
      const chunks: Buffer[] = [];
      const ok = await http(exact.put, {
        method: 'PUT',
        body: generatedBody(size, { chunkSize: 32 * KiB, onChunk: (c) => void chunks.push(c) }),
      });
      const hash = sha256(Buffer.concat(chunks));
      assert.equal(ok.status, 201);
      assert.equal((await http(exact.get)).bodySha256, hash);
    });

    it('415 when the Content-Type differs from the slot’s', async () => {
      const file = randomFile(KiB);
      const slot = await slot0('pic.png', file.length, 'image/png');
      const wrong = await putToSlot(slot, file, { contentType: 'text/plain' });
      assert.equal(wrong.status, 415);
      assert.equal((await http(slot.get)).status, 404);
      assert.equal((await putToSlot(slot, file, { contentType: 'image/png' })).status, 201);
    });

    it('201 with Location, then 409 for a second PUT, the first content kept', async () => {
      const first = randomFile(KiB);
      const slot = await slot0('twice.bin', first.length);
      const r = await putToSlot(slot, first);
      assert.equal(r.status, 201);
      assert.ok(r.headers.location, 'Location header');
      assert.equal(new URL(r.headers.location, slot.put).toString(), slot.get);
      const again = await putToSlot(slot, randomFile(KiB));
      assert.equal(again.status, 409);
      assert.equal((await http(slot.get)).bodySha256, sha256(first));
    });
  });

  describe('GET and HEAD', { concurrency: true }, () => {
    const uploaded = new Map<string, { slot: SlotOk; file: Buffer }>();
    before(async () => {
      for (const [filename, type] of [
        ['photo.png', 'image/png'],
        ['grüße.html', 'text/html'],
        ['notes.txt', 'text/plain'],
        ['data.bin', undefined],
      ] as const) {
        const file = randomFile(10 * KiB);
        const slot = await slot0(filename, file.length, type);
        const r = await putToSlot(slot, file, type ? { contentType: type } : {});
        assert.equal(r.status, 201);
        uploaded.set(filename, { slot, file });
      }
    });

    it('HEAD and GET carry the stored type, length, validators, caching and safety headers', async () => {
      for (const [filename, { slot, file }] of uploaded) {
        const head = await http(slot.get, { method: 'HEAD' });
        const get = await http(slot.get);
        for (const [method, r] of [
          ['HEAD', head],
          ['GET', get],
        ] as const) {
          const h = r.headers;
          assert.equal(r.status, 200, `${method} ${filename}`);
          assert.equal(h['content-length'], String(file.length), `${method} ${filename} length`);
          assert.ok(h.etag, `${method} ${filename} ETag`);
          assert.ok(!Number.isNaN(Date.parse(h['last-modified'] ?? '')), `${method} ${filename} Last-Modified`);
          assert.match(h['cache-control'] ?? '', /immutable/);
          assert.ok(
            Number(/max-age=(\d+)/.exec(h['cache-control'] ?? '')?.[1]) >= 86400,
            `long max-age: ${h['cache-control']}`,
          );
          assert.equal(h['x-content-type-options'], 'nosniff');
          const csp = h['content-security-policy'] ?? '';
          for (const d of ["default-src 'none'", "frame-ancestors 'none'", 'sandbox'])
            assert.ok(csp.includes(d), `CSP has ${d}: ${csp}`);
        }
        assert.equal(head.bodyLength, 0);
        assert.equal(get.bodySha256, sha256(file));
        assert.equal(head.headers.etag, get.headers.etag);
      }
      const type = (f: string) =>
        uploaded.get(f) ? http(uploaded.get(f)!.slot.get, { method: 'HEAD' }) : Promise.reject(new Error(f));
      assert.equal((await type('photo.png')).headers['content-type'], 'image/png');
      assert.match((await type('notes.txt')).headers['content-type'] ?? '', /^text\/plain/);
      assert.match((await type('grüße.html')).headers['content-type'] ?? '', /^text\/html/);
      assert.equal((await type('data.bin')).headers['content-type'], 'application/octet-stream');
      // attachment for everything except images, audio, video and plain text; RFC 6266 filename*.
      const disposition = async (f: string) => (await type(f)).headers['content-disposition'] ?? '';
      assert.doesNotMatch(await disposition('photo.png'), /attachment/);
      assert.doesNotMatch(await disposition('notes.txt'), /attachment/);
      assert.match(await disposition('data.bin'), /^attachment/);
      const html = await disposition('grüße.html');
      assert.match(html, /^attachment/);
      assert.ok(html.includes("filename*=UTF-8''gr%C3%BC%C3%9Fe.html"), html);
    });

    it('Range: 206 with Content-Range for a slice, a resume and a suffix; 416 past the end', async () => {
      const { slot, file } = uploaded.get('data.bin')!;
      const n = file.length;
      for (const [range, start, end] of [
        ['bytes=0-99', 0, 99],
        ['bytes=1000-', 1000, n - 1],
        ['bytes=-100', n - 100, n - 1],
      ] as const) {
        const r = await http(slot.get, { headers: { range } });
        assert.equal(r.status, 206, range);
        assert.equal(r.headers['content-range'], `bytes ${start}-${end}/${n}`);
        assert.equal(r.headers['content-length'], String(end - start + 1));
        assert.equal(r.bodySha256, sha256(file.subarray(start, end + 1)), range);
      }
      for (const range of [`bytes=${n}-`, `bytes=${n + 10}-${n + 20}`]) {
        const r = await http(slot.get, { headers: { range } });
        assert.equal(r.status, 416, range);
        assert.equal(r.headers['content-range'], `bytes */${n}`);
      }
    });

    it('304 for If-None-Match and If-Modified-Since; 200 when the validator does not match', async () => {
      const { slot } = uploaded.get('photo.png')!;
      const first = await http(slot.get, { method: 'HEAD' });
      const etag = first.headers.etag!;
      const lastModified = first.headers['last-modified']!;
      const byEtag = await http(slot.get, { headers: { 'if-none-match': etag } });
      assert.equal(byEtag.status, 304);
      assert.equal(byEtag.bodyLength, 0);
      assert.equal((await http(slot.get, { headers: { 'if-modified-since': lastModified } })).status, 304);
      assert.equal((await http(slot.get, { headers: { 'if-none-match': '"something-else"' } })).status, 200);
      assert.equal(
        (
          await http(slot.get, {
            headers: { 'if-modified-since': new Date(Date.parse(lastModified) - 3600_000).toUTCString() },
          })
        ).status,
        200,
      );
    });

    it('CORS: preflight answered; GET, HEAD and PUT answers carry Access-Control-Allow-Origin', async () => {
      const { slot } = uploaded.get('notes.txt')!;
      const origin = 'https://web.example';
      const pre = await http(slot.get, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'PUT',
          'access-control-request-headers': 'content-type,authorization',
        },
      });
      assert.ok(pre.status === 200 || pre.status === 204, `preflight ${pre.status}`);
      assert.ok(
        ['*', origin].includes(pre.headers['access-control-allow-origin'] ?? ''),
        `ACAO ${pre.headers['access-control-allow-origin']}`,
      );
      const methods = (pre.headers['access-control-allow-methods'] ?? '').toUpperCase();
      for (const m of ['OPTIONS', 'HEAD', 'GET', 'PUT']) assert.ok(methods.includes(m), `methods ${methods}`);
      const allowed = (pre.headers['access-control-allow-headers'] ?? '').toLowerCase();
      for (const h of ['authorization', 'content-type']) assert.ok(allowed.includes(h), `headers ${allowed}`);
      for (const method of ['GET', 'HEAD']) {
        const r = await http(slot.get, { method, headers: { origin } });
        assert.ok(['*', origin].includes(r.headers['access-control-allow-origin'] ?? ''), `${method} ACAO`);
      }
      const file = randomFile(100);
      const fresh = await slot0('cors.txt', file.length, 'text/plain');
      const put = await putToSlot(fresh, file, { contentType: 'text/plain', headers: { origin } });
      assert.equal(put.status, 201);
      assert.ok(['*', origin].includes(put.headers['access-control-allow-origin'] ?? ''), 'PUT ACAO');
    });
  });

  describe('nothing else is served', { concurrency: true }, () => {
    it('404 for unknown ids', async () => {
      const base = stack.serve.baseUrl;
      for (const path of [`/${newSlotId()}/x.txt`, `/${newSlotId()}`, '/', '']) {
        const r = await http(base + path);
        assert.ok(r.status === 404 || (path.length <= 1 && r.status >= 400 && r.status < 500), `${path}: ${r.status}`);
      }
      assert.equal((await http(`${base}/${newSlotId()}/x.txt`, { method: 'HEAD' })).status, 404);
    });

    it('no path leads outside the repository: dot segments, encoded dots, double slashes, backslashes', async () => {
      const outside = mkdtempSync(join(tmpdir(), 'fileupload-outside-'));
      try {
        const secret = `secret-${newSlotId()}`;
        writeFileSync(join(outside, 'secret.txt'), secret);
        const rel = `..${outside}`; // repo and outside are both in tmpdir()
        const base = stack.serve.baseUrl;
        const origin = stack.serve.origin;
        const paths = [
          `${base}/../../../../../etc/passwd`,
          `${base}/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd`,
          `${base}/..%2f..%2f..%2f..%2fetc%2fpasswd`,
          `${base}/%2E%2E%2F%2E%2E%2F%2E%2E%2Fetc%2Fpasswd`,
          `${base}//etc/passwd`,
          `${base}/%2fetc%2fpasswd`,
          `${base}/..\\..\\..\\..\\etc\\passwd`,
          `${base}/%5c..%5c..%5c..%5cetc%5cpasswd`,
          `${base}/${newSlotId()}/..%2f..%2f..%2fetc%2fpasswd`,
          `${base}/${rel}/secret.txt`,
          `${base}/%2e%2e${outside.replace(/\//g, '%2f')}%2fsecret.txt`,
          `${origin}//${outside}/secret.txt`,
          `${origin}/${outside}/secret.txt`,
          `${base}/${newSlotId()}%00/x.txt`,
        ];
        const answers = await Promise.all(paths.map((p) => http(p)));
        answers.forEach((r, i) => {
          assert.ok(r.status >= 400 && r.status < 500, `${paths[i]}: ${r.status}`);
          const text = r.body.toString();
          assert.ok(!text.includes('root:') && !text.includes(secret), `${paths[i]} leaked a file`);
        });
      } finally {
        rmSync(outside, { recursive: true, force: true });
      }
    });

    it('a symlink planted in the repository is not followed out of it', async () => {
      const file = randomFile(4 * KiB);
      const slot = await legacySlot('planted.bin', file.length);
      assert.equal((await putToSlot(slot, file)).status, 201);
      const id = idOf(slot);
      const outside = mkdtempSync(join(tmpdir(), 'fileupload-outside-'));
      try {
        // Move every file of this upload out of the repository and leave symlinks in its place.
        // Not the inventory under index/: serve updates it after the 201 (pending → stored), so
        // its entries come and go while this runs, and GET never reads them.
        const entries = listTree(repo).filter((p) => p.includes(id) && !p.startsWith('index/'));
        assert.ok(entries.length > 0, `the upload ${id} is somewhere in ${repo}`);
        entries.forEach((p, i) => {
          const target = join(outside, `f${i}`);
          copyFileSync(join(repo, p), target);
          rmSync(join(repo, p));
          symlinkSync(target, join(repo, p));
          assert.ok(lstatSync(join(repo, p)).isSymbolicLink());
        });
        const r = await http(slot.get);
        assert.notEqual(r.bodySha256, sha256(file), 'content reached through a symlink');
        assert.ok(r.status >= 400 && r.status < 500, `symlinked upload: ${r.status}`);
      } finally {
        rmSync(outside, { recursive: true, force: true });
      }
    });
  });
});
