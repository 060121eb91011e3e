/**
 * Taking a file down, against the real binary with the fs store and with S3 (blocklist.test.ts,
 * blocklist-s3.test.ts): serve runs, a real XMPP client gets slots through Prosody, and
 * `fileupload blocklist` runs as a separate process — another node as far as serve's memory goes.
 * `blocklist add URL` removes the upload and every other stored copy of its bytes (GET 410), and
 * serve refuses the same bytes on a new slot (403, nothing stored) once it has looked at the list
 * again (BLOCKLIST_MAX_AGE: waited for here); other bytes still upload; `blocklist rm` lets the
 * bytes in again. The admin API's takedown goes through the same function and holds at once on
 * the serve that ran it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { http, randomFile, sha256 } from '../support/http.ts';
import { runFileupload, type ServeConfig } from '../support/serve.ts';
import { mustGetSlot, putToSlot, startStack, type Stack } from '../support/stack.ts';
import { NS_UPLOAD_0 } from '../support/xmpp-client.ts';
import { sample } from '../support/prometheus.ts';
import { BLOCKLIST_MAX_AGE } from '../../src/blocklist/open.ts';
import { adminToken } from '../../src/status/admin-auth.ts';

/**
 * Registers the suite for one storage; `config` gives serve's storage properties (called in
 * before(), so a fixture may start there).
 *
 * @example
 * blocklistE2eSuite('fs', async () => ({}));
 */
export function blocklistE2eSuite(storage: 'fs' | 's3', config: () => Promise<ServeConfig>): void {
  describe(`taking a file down (${storage})`, () => {
    let stack: Stack;
    before(async () => {
      stack = await startStack('prosody', await config());
    });
    after(() => stack?.stop());

    const cli = (...args: string[]) => runFileupload(['--config', stack.serve.configFile, ...args]);
    const idOf = (getUrl: string): string => new URL(getUrl).pathname.split('/').at(-2)!;
    const spec = (filename: string, size: number) =>
      ({ namespace: NS_UPLOAD_0, shape: 'attributes', filename, size }) as const;
    /** A new slot of alice's with `bytes` PUT to it: the slot and the answer. */
    const upload = async (name: string, bytes: Buffer) => {
      const slot = await mustGetSlot(stack.alice, stack.service, spec(name, bytes.length));
      return { slot, put: await putToSlot(slot, bytes) };
    };
    /** Serve has looked at the blocklist again since a change another process made. */
    const seenByServe = () => sleep(BLOCKLIST_MAX_AGE[storage] + 200);
    const storedIds = async (): Promise<string[]> => {
      const r = await cli('--json', 'slots', 'ls', '--state', 'stored');
      assert.equal(r.code, 0, r.stderr);
      return r.stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => (JSON.parse(l) as { id: string }).id);
    };

    it('blocklist add URL: every copy gone (410), the bytes refused on a new slot (403), other bytes fine; rm lets them in again', async () => {
      const bytes = randomFile(300_000);
      const first = await upload('first.bin', bytes);
      const copy = await upload('copy.bin', bytes);
      const other = await upload('other.bin', randomFile(bytes.length));
      for (const u of [first, copy, other]) assert.equal(u.put.status, 201, u.put.body.toString());

      const add = await cli('blocklist', 'add', first.slot.get, '--note', 'case 17');
      assert.equal(add.code, 0, add.stderr);
      assert.match(add.stdout, new RegExp(`^blocked sha256 ${sha256(bytes)}$`, 'm'));
      assert.match(add.stdout, new RegExp(`removed upload ${idOf(first.slot.get)} `));
      assert.match(add.stdout, new RegExp(`removed upload ${idOf(copy.slot.get)} `));
      assert.match(add.stdout, /blocklist add: removed 2 uploads/);
      for (const u of [first, copy]) {
        const get = await http(u.slot.get);
        assert.equal(get.status, 410, 'a taken-down URL answers 410');
        assert.equal(get.body.toString().trim(), 'removed');
      }
      assert.equal((await http(other.slot.get)).status, 200, 'same size, other bytes: untouched');

      const ls = await cli('--json', 'blocklist', 'ls');
      assert.equal(ls.code, 0, ls.stderr);
      const entries = (JSON.parse(ls.stdout) as { entries: { sha256: string; note: string }[] }).entries;
      assert.deepEqual(
        entries.map((e) => [e.sha256, e.note]),
        [[sha256(bytes), 'case 17']],
      );

      await seenByServe();
      const again = await upload('again.bin', bytes);
      assert.equal(again.put.status, 403, again.put.body.toString());
      assert.equal(again.put.body.toString().trim(), 'blocked content');
      assert.equal((await http(again.slot.get)).status, 404, 'nothing published');
      assert.ok(!(await storedIds()).includes(idOf(again.slot.get)), 'nothing listed');
      const logged = await stack.serve.waitForLog('upload refused: blocked content');
      assert.equal(logged.id, idOf(again.slot.get));
      assert.equal(logged.sha256, sha256(bytes));
      assert.equal(logged.filename, undefined, 'logs keep ids and hashes only');
      const metrics = await http(`http://127.0.0.1:${stack.config.adminPort}/metrics`);
      assert.ok((sample(metrics.body.toString(), 'fileupload_uploads_failed_total', { reason: 'blocked' }) ?? 0) >= 1);

      const fine = await upload('fine.bin', randomFile(bytes.length));
      assert.equal(fine.put.status, 201, 'other bytes upload as before');

      const rm = await cli('blocklist', 'rm', sha256(bytes));
      assert.equal(rm.code, 0, rm.stderr);
      const rmAgain = await cli('blocklist', 'rm', sha256(bytes));
      assert.equal(rmAgain.code, 1, 'not on the list any more');
      await seenByServe();
      const back = await upload('back.bin', bytes);
      assert.equal(back.put.status, 201, back.put.body.toString());
      assert.equal((await http(back.slot.get)).bodySha256, sha256(bytes));
    });

    it('the admin API takes a URL down with the admin token, at once on this serve', async () => {
      const admin = `http://127.0.0.1:${stack.config.adminPort}`;
      const token = adminToken(String(stack.config.slotSecret));
      const bytes = randomFile(5000);
      const u = await upload('api.bin', bytes);
      assert.equal(u.put.status, 201);
      const body = JSON.stringify({ target: u.slot.get, note: 'via API' });
      const anonymous = await http(`${admin}/blocklist/takedown`, { method: 'POST', body });
      assert.equal(anonymous.status, 401);
      assert.equal((await http(u.slot.get)).status, 200, 'nothing happened without the token');

      const r = await http(`${admin}/blocklist/takedown`, {
        method: 'POST',
        body,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      });
      assert.equal(r.status, 200, r.body.toString());
      const result = JSON.parse(r.body.toString()) as { sha256: string; removed: { id: string }[] };
      assert.equal(result.sha256, sha256(bytes));
      assert.deepEqual(
        result.removed.map((m) => m.id),
        [idOf(u.slot.get)],
      );
      assert.equal((await http(u.slot.get)).status, 410);
      const again = await upload('api-again.bin', bytes);
      assert.equal(again.put.status, 403, 'refused without waiting: the serve that took it down knows');

      const listed = await http(`${admin}/blocklist`, { headers: { authorization: `Bearer ${token}` } });
      assert.ok(
        (JSON.parse(listed.body.toString()) as { entries: { sha256: string }[] }).entries.some(
          (e) => e.sha256 === sha256(bytes),
        ),
      );
      const missing = await http(`${admin}/blocklist/takedown`, {
        method: 'POST',
        body: JSON.stringify({ target: u.slot.get }),
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(missing.status, 404, 'taken down already');
      assert.equal((await cli('blocklist', 'rm', sha256(bytes))).code, 0);
    });

    it('blocklist add refuses what is neither a URL, an id nor a sha256 (exit 2), and an id that is not stored (exit 1)', async () => {
      const bad = await cli('blocklist', 'add', 'not-a-target');
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /expected an upload URL, an upload id or a sha256/);
      const missing = await cli('blocklist', 'add', `${stack.serve.baseUrl}/AAAAAAAAAAAAAAAAAAAAAAAA/x.bin`);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /no stored upload AAAAAAAAAAAAAAAAAAAAAAAA/);
      const ls = await cli('--json', 'blocklist', 'ls');
      assert.deepEqual(JSON.parse(ls.stdout), { entries: [] }, 'nothing was added');
    });
  });
}
