/**
 * Who may request slots: plugin.httpfileupload.allowedDomains replaces the default (the parent
 * domain) with its list, and `*` lets anyone — end to end through Prosody.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { startProsody } from '../../scripts/testservers/prosody.ts';
import type { XmppTestServer } from '../../scripts/testservers/server.ts';
import { STACK_USERS, startStack } from '../support/stack.ts';
import { connectUser, NS_UPLOAD_0, NS_UPLOAD_LEGACY } from '../support/xmpp-client.ts';

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

describe('look-alike domains', () => {
  // Prosody keeps example。localhost (U+3002 IDEOGRAPHIC FULL STOP) as a host of its own and
  // delivers its users' stanzas to the component with that domain, while UTS #46 (URLs, DNS)
  // maps it to example.localhost.
  const lookAlike = 'example\u3002localhost';
  let prosody: XmppTestServer;
  before(async () => {
    prosody = await startProsody({
      users: [...STACK_USERS, { user: 'bob', password: 'bob-pw', host: 'example.localhost' }],
      extraConfig: `VirtualHost "${lookAlike}"\n`,
    });
    // The test-server helper creates only plain-ASCII accounts; this one is made by hand.
    execFileSync(
      'prosodyctl',
      ['--config', join(prosody.dataDir, 'prosody.cfg.lua'), 'register', 'eve', lookAlike, 'eve-pw'],
      { stdio: 'ignore' },
    );
  });
  after(() => prosody?.stop());

  it('a user of example。localhost does not pass as example.localhost', async () => {
    const stack = await startStack(prosody, { allowedDomains: 'example.localhost' });
    const eve = await connectUser({ port: prosody.c2sPort, domain: lookAlike, username: 'eve', password: 'eve-pw' });
    const bob = await connectUser({
      port: prosody.c2sPort,
      domain: 'example.localhost',
      username: 'bob',
      password: 'bob-pw',
    });
    try {
      assert.ok(eve.jid.toString().startsWith(`eve@${lookAlike}/`), `Prosody kept the domain: ${eve.jid.toString()}`);
      const spec = { namespace: NS_UPLOAD_0, shape: 'attributes' as const, filename: 'a.txt', size: 10 };
      const refused = await eve.requestSlot(stack.service, spec);
      assert.ok(!refused.ok, 'eve is refused');
      assert.equal(`${refused.error.type}/${refused.error.condition}`, 'auth/forbidden');
      assert.ok((await bob.requestSlot(stack.service, spec)).ok, 'the real domain is allowed');
    } finally {
      await eve.close();
      await bob.close();
      await stack.stop();
    }
  });
});
