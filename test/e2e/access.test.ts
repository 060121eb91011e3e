/**
 * Who may request slots: plugin.httpfileupload.allowedDomains replaces the default (the parent
 * domain) with its list, and `*` lets anyone — end to end through Prosody.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startProsody } from '../../scripts/testservers/prosody.ts';
import type { XmppTestServer } from '../../scripts/testservers/server.ts';
import { STACK_USERS, startStack } from '../support/stack.ts';
import { NS_UPLOAD_0, NS_UPLOAD_LEGACY } from '../support/xmpp-client.ts';

describe('allowedDomains', () => {
  let prosody: XmppTestServer;
  before(async () => {
    prosody = await startProsody({ users: STACK_USERS });
  });
  after(() => prosody?.stop());

  it('an explicit list lets its domains in and keeps the parent domain out', async () => {
    const stack = await startStack(prosody, { allowedDomains: 'elsewhere.localhost' });
    try {
      for (const namespace of [NS_UPLOAD_0, NS_UPLOAD_LEGACY]) {
        const spec = { namespace, shape: 'attributes' as const, filename: 'a.txt', size: 10 };
        const alice = await stack.alice.requestSlot(stack.service, spec);
        assert.ok(!alice.ok, 'alice@localhost is no longer allowed');
        assert.equal(`${alice.error.type}/${alice.error.condition}`, 'auth/forbidden');
        const mallory = await stack.mallory.requestSlot(stack.service, spec);
        assert.ok(mallory.ok, 'mallory@elsewhere.localhost is allowed');
      }
    } finally {
      await stack.stop();
    }
  });

  it('* lets anyone in', async () => {
    const stack = await startStack(prosody, { allowedDomains: '*' });
    try {
      const spec = { namespace: NS_UPLOAD_0, shape: 'attributes' as const, filename: 'a.txt', size: 10 };
      assert.ok((await stack.alice.requestSlot(stack.service, spec)).ok);
      assert.ok((await stack.mallory.requestSlot(stack.service, spec)).ok);
    } finally {
      await stack.stop();
    }
  });
});
