/**
 * Two `serve` nodes on one shared fileRepo and one slotSecret: a slot issued by node A is
 * accepted by node B, and what B stored is served by A. Only A is connected to XMPP; B keeps
 * trying a port where nothing listens, which must not stop its HTTP side.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { freePort } from '../../scripts/testservers/processes.ts';
import { http, randomFile, sha256 } from '../support/http.ts';
import { serveConfigFor, startServe, type ServeProcess } from '../support/serve.ts';
import { mustGetSlot, onOrigin, putToSlot, startStack, type Stack } from '../support/stack.ts';
import { NS_UPLOAD_0, NS_UPLOAD_LEGACY } from '../support/xmpp-client.ts';

describe('two nodes, one repository, one slot secret', () => {
  let a: Stack;
  let b: ServeProcess;
  before(async () => {
    a = await startStack('prosody');
    const config = await serveConfigFor(undefined, {
      fileRepo: a.config.fileRepo,
      slotSecret: a.config.slotSecret,
      domain: a.config.domain,
      sharedSecret: a.config.sharedSecret,
      xmppPort: await freePort(), // nothing listens: B is HTTP-only for this test
    });
    b = await startServe({ config, waitFor: 'ready' });
  });
  after(async () => {
    await b?.stop();
    await a?.stop();
  });

  for (const namespace of [NS_UPLOAD_0, NS_UPLOAD_LEGACY]) {
    it(`slot from A (${namespace}), PUT to B, GET from A and B`, async () => {
      const file = randomFile(256 * 1024);
      const slot = await mustGetSlot(a.alice, a.service, {
        namespace,
        shape: namespace === NS_UPLOAD_0 ? 'attributes' : 'children',
        filename: 'shared.bin',
        size: file.length,
      });
      const put = await putToSlot(slot, file, { url: onOrigin(slot.put, b.origin) });
      assert.equal(put.status, 201, `PUT to B: ${put.status} ${put.body.toString()}`);
      const fromA = await http(slot.get);
      assert.equal(fromA.status, 200);
      assert.equal(fromA.bodySha256, sha256(file));
      assert.equal((await http(onOrigin(slot.get, b.origin))).bodySha256, sha256(file));
      // The slot is used up on every node.
      assert.equal((await putToSlot(slot, file)).status, 409);
    });
  }
});
