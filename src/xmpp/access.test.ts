import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accessPolicy, accessRule, isDomainAllowed } from './access.ts';
import type { SlotRequestContext } from './policy.ts';

const from = (domain: string): SlotRequestContext => ({
  request: { namespace: 'urn:xmpp:http:upload:0', shape: 'attributes', filename: 'a', size: 1, purpose: 'message' },
  requester: { jid: `u@${domain}/r`, bare: `u@${domain}`, domain },
  now: 0,
});

test('default: only the parent domain of the component', () => {
  const rule = accessRule('upload.example.org', []);
  assert.ok(isDomainAllowed(rule, 'example.org'));
  assert.ok(isDomainAllowed(rule, 'EXAMPLE.ORG'));
  assert.ok(isDomainAllowed(rule, 'example.org.'));
  assert.ok(!isDomainAllowed(rule, 'evil.org'));
  assert.ok(!isDomainAllowed(rule, 'sub.example.org'), 'no subdomains');
  assert.ok(!isDomainAllowed(rule, 'upload.example.org'), 'not the component domain itself');
  assert.ok(!isDomainAllowed(rule, 'example.org.evil.com'));
});

test('allowedDomains replaces the default; blanks are ignored', () => {
  const rule = accessRule('upload.example.org', [' example.net ', '', 'Example.COM']);
  assert.ok(isDomainAllowed(rule, 'example.net'));
  assert.ok(isDomainAllowed(rule, 'example.com'));
  assert.ok(!isDomainAllowed(rule, 'example.org'), 'the parent is no longer implied');
  assert.ok(isDomainAllowed(accessRule('upload.example.org', ['', ' ']), 'example.org'), 'only blanks → default');
});

test('* admits anyone', () => {
  assert.deepEqual(accessRule('upload.example.org', ['*']), { anyone: true });
  assert.ok(isDomainAllowed(accessRule('upload.example.org', ['example.org', '*']), 'anywhere.test'));
});

test('IDN domains compare in one form (Unicode, punycode, any case)', () => {
  const rule = accessRule('upload.bücher.example', []);
  assert.ok(isDomainAllowed(rule, 'bücher.example'));
  assert.ok(isDomainAllowed(rule, 'BÜCHER.example'));
  assert.ok(isDomainAllowed(rule, 'xn--bcher-kva.example'));
  assert.ok(isDomainAllowed(accessRule('upload.example.org', ['xn--bcher-kva.example']), 'Bücher.Example'));
  assert.ok(!isDomainAllowed(rule, 'bucher.example'));
});

test('look-alike full stops are other domains (XMPP servers keep them apart)', () => {
  const byDefault = accessRule('upload.example.test', []);
  const listed = accessRule('upload.example.org', ['example.test']);
  for (const dot of ['\u3002', '\uff0e', '\uff61']) {
    for (const rule of [byDefault, listed]) {
      assert.ok(!isDomainAllowed(rule, `example${dot}test`), `example${dot}test`);
      assert.ok(!isDomainAllowed(rule, `EXAMPLE${dot}TEST`));
      assert.ok(!isDomainAllowed(rule, `example.test${dot}`));
    }
  }
  assert.ok(isDomainAllowed(listed, 'Example.Test'), 'ASCII case still does not matter');
});

test('accessPolicy: auth/forbidden naming the domain for strangers', async () => {
  const policy = accessPolicy('upload.example.org', []);
  assert.deepEqual(await policy(from('example.org')), { ok: true });
  const d = await policy(from('elsewhere.test'));
  assert.ok(!d.ok);
  assert.equal(`${d.refusal.type}/${d.refusal.condition}`, 'auth/forbidden');
  assert.match(d.refusal.text, /elsewhere\.test/);
});
