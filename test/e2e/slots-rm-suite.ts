/**
 * `slots rm` means gone, run against the real binary with the fs store and with S3
 * (slots-rm.test.ts, slots-rm-s3.test.ts): serve runs, a real XMPP client gets slots through
 * Prosody, and `slots rm` runs as a separate process — another node as far as serve's memory
 * goes. A removed pending slot and a removed upload are not listed again, a GET or HEAD of the
 * upload answers 410 "removed" and a PUT to the slot's URL 410, from the moment the command
 * returns.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { http, randomFile, sha256 } from '../support/http.ts';
import { runFileupload, type ServeConfig } from '../support/serve.ts';
import { mustGetSlot, putToSlot, startStack, type Stack } from '../support/stack.ts';
import { NS_UPLOAD_0 } from '../support/xmpp-client.ts';

interface Row {
  id: string;
  state: string;
  uploader: string;
}

/**
 * Registers the suite for one storage; `config` gives serve's storage properties (called in
 * before(), so a fixture may start there).
 *
 * @example
 * slotsRmSuite('fs', async () => ({}));
 */
export function slotsRmSuite(storage: string, config: () => Promise<ServeConfig>): void {
  describe(`slots rm means gone (${storage})`, () => {
    let stack: Stack;
    before(async () => {
      stack = await startStack('prosody', await config());
    });
    after(() => stack?.stop());

    const cli = (...args: string[]) => runFileupload(['--config', stack.serve.configFile, ...args]);
    const listed = async (): Promise<Row[]> => {
      const r = await cli('--json', 'slots', 'ls');
      assert.equal(r.code, 0, r.stderr);
      return r.stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Row);
    };
    const idOf = (getUrl: string): string => new URL(getUrl).pathname.split('/').at(-2)!;
    const spec = (filename: string, size: number) =>
      ({ namespace: NS_UPLOAD_0, shape: 'attributes', filename, size }) as const;

    it('a pending slot: forgotten, not listed, its PUT answered 410 and a GET 410', async () => {
      const slot = await mustGetSlot(stack.alice, stack.service, spec('pending.bin', 1000));
      const id = idOf(slot.get);
      assert.deepEqual(
        (await listed()).filter((r) => r.id === id).map((r) => r.state),
        ['pending'],
      );
      const rm = await cli('slots', 'rm', id);
      assert.equal(rm.code, 0, rm.stderr);
      assert.match(rm.stdout, new RegExp(`removed pending slot ${id} `));
      const put = await putToSlot(slot, randomFile(1000));
      assert.equal(put.status, 410, put.body.toString());
      assert.equal(put.body.toString().trim(), 'upload removed');
      const get = await http(slot.get);
      assert.equal(get.status, 410);
      assert.equal(get.body.toString().trim(), 'removed');
      assert.deepEqual(
        (await listed()).filter((r) => r.id === id),
        [],
      );
    });

    it('an upload removed with --user: not listed (neither stored nor pending), GET and HEAD 410, a new PUT of its slot 410', async () => {
      const file = randomFile(3000);
      const slot = await mustGetSlot(stack.alice, stack.service, spec('stored.bin', file.length));
      const id = idOf(slot.get);
      assert.equal((await putToSlot(slot, file)).status, 201);
      // Read once, so a serve that keeps small uploads in memory holds this one.
      for (let i = 0; i < 2; i++) assert.equal((await http(slot.get)).bodySha256, sha256(file));
      const row = (await listed()).find((r) => r.id === id);
      assert.equal(row?.state, 'stored');

      const rm = await cli('slots', 'rm', '--user', row.uploader);
      assert.equal(rm.code, 0, rm.stderr);
      assert.match(rm.stdout, new RegExp(`removed upload ${id} `));
      assert.equal((await http(slot.get)).status, 410, 'GET of the removed upload');
      assert.equal((await http(slot.get, { method: 'HEAD' })).status, 410, 'HEAD of the removed upload');
      const again = await putToSlot(slot, file);
      assert.equal(again.status, 410, again.body.toString());
      assert.deepEqual(
        (await listed()).filter((r) => r.id === id),
        [],
      );
      const gone = await cli('slots', 'rm', id);
      assert.equal(gone.code, 1, 'nothing left of it to remove');
    });
  });
}
