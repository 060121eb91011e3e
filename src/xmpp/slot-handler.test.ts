import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSlotHandler, requesterOf } from './slot-handler.ts';
import { accessPolicy } from './access.ts';
import { allow, refuse, sizePolicy, type SlotPolicy, type SlotRequestContext } from './policy.ts';
import { issueSlot } from './issue-slot.ts';
import { quotaExceeded } from './refusal.ts';
import { createLogger } from '../log.ts';
import type { Slot } from '../slots/slot.ts';
import { parseXml } from './xml.ts';

const NOW = Date.parse('2025-06-17T12:00:00Z');
const endpoint = { protocol: 'https' as const, host: 'upload.example.org', port: 443, contextRoot: '' };
const S = 'urn:ietf:params:xml:ns:xmpp-stanzas';

function handler(
  extra: { policies?: SlotPolicy[]; onSlotIssued?: (slot: Slot, ctx: SlotRequestContext) => void | Promise<void> } = {},
) {
  const lines: string[] = [];
  const handle = createSlotHandler({
    policies: () => [accessPolicy('upload.example.org', []), sizePolicy(1000), ...(extra.policies ?? [])],
    issue: (request, uploader, at) => issueSlot(request, uploader, at, { secret: 's', endpoint, lifetime: 300_000 }),
    ...(extra.onSlotIssued ? { onSlotIssued: extra.onSlotIssued } : {}),
    now: () => NOW,
    log: createLogger({}, { write: (l) => lines.push(l) }),
  });
  return { handle, lines };
}

const request = (attrs = "filename='a b.txt' size='10'") =>
  parseXml(`<request xmlns='urn:xmpp:http:upload:0' ${attrs}/>`);

test('requesterOf normalises the bare JID and domain', () => {
  assert.deepEqual(requesterOf('Alice@Example.ORG/Phone'), {
    jid: 'Alice@Example.ORG/Phone',
    bare: 'alice@example.org',
    domain: 'example.org',
  });
  assert.equal(requesterOf(undefined), undefined);
  assert.equal(requesterOf('@x'), undefined);
});

test('an allowed request gets a slot in its namespace; the hook sees the slot before the answer', async () => {
  const seen: Slot[] = [];
  const { handle } = handler({ onSlotIssued: (slot) => void seen.push(slot) });
  const outcome = await handle(request(), 'Alice@example.org/res');
  assert.ok(outcome.ok);
  assert.equal(outcome.slot.uploader, 'alice@example.org');
  assert.equal(outcome.slot.issuedAt, NOW);
  assert.deepEqual(seen, [outcome.slot]);
  assert.equal(
    outcome.answer.toString(),
    `<slot xmlns="urn:xmpp:http:upload:0"><put url="${outcome.urls.put}"/><get url="https://upload.example.org:443/${outcome.slot.id}/a%20b.txt"/></slot>`,
  );
  assert.equal(outcome.ctx.requester.bare, 'alice@example.org');
});

test('legacy request → legacy answer', async () => {
  const { handle } = handler();
  const outcome = await handle(
    parseXml("<request xmlns='eu:siacs:conversations:http:upload'><filename>x</filename><size>1</size></request>"),
    'a@example.org/r',
  );
  assert.ok(outcome.ok);
  assert.match(
    outcome.answer.toString(),
    /^<slot xmlns="eu:siacs:conversations:http:upload"><put>https:\/\/[^<]+<\/put><get>https:\/\/[^<]+<\/get><\/slot>$/,
  );
});

test('refusals: stranger → forbidden, too large → file-too-large, malformed → bad-request, no sender → forbidden', async () => {
  const { handle } = handler();
  const cases: Array<[string, Promise<Awaited<ReturnType<typeof handle>>>, string]> = [
    ['stranger', handle(request(), 'mallory@evil.test/x'), 'auth/forbidden'],
    ['too large', handle(request("filename='a' size='1001'"), 'a@example.org/r'), 'modify/not-acceptable'],
    ['malformed', handle(request("filename='a/b' size='1'"), 'a@example.org/r'), 'modify/bad-request'],
    ['no sender', handle(request(), undefined), 'auth/forbidden'],
  ];
  for (const [name, pending, expected] of cases) {
    const outcome = await pending;
    assert.ok(!outcome.ok, name);
    assert.equal(`${outcome.refusal.type}/${outcome.refusal.condition}`, expected, name);
    assert.equal(outcome.error.name, 'error');
  }
  const tooLarge = await handle(request("filename='a' size='1001'"), 'a@example.org/r');
  assert.ok(!tooLarge.ok);
  assert.match(tooLarge.error.toString(), /<max-file-size>1000<\/max-file-size>/);
  // Each XEP-0363 version's client looks for <file-too-large/> in its own namespace.
  for (const ns of ['urn:xmpp:http:upload:0', 'urn:xmpp:http:upload', 'eu:siacs:conversations:http:upload']) {
    const legacy = await handle(
      parseXml(`<request xmlns='${ns}'><filename>a</filename><size>1001</size></request>`),
      'a@example.org/r',
    );
    assert.ok(!legacy.ok);
    assert.equal(legacy.error.getChild('file-too-large')?.getNS(), ns, legacy.error.toString());
  }
});

test('extra policies run after the built-in ones; a quota refusal carries its retry stamp', async () => {
  const asked: string[] = [];
  const quota: SlotPolicy = async ({ requester, request: r }) => {
    asked.push(`${requester.bare}:${r.size}`);
    return r.size > 5 ? refuse(quotaExceeded('over quota', Date.UTC(2025, 5, 17, 13))) : allow;
  };
  const { handle } = handler({ policies: [quota] });
  const stranger = await handle(request(), 'm@evil.test/x');
  assert.ok(!stranger.ok);
  assert.deepEqual(asked, [], 'not asked for requests the access policy refused');
  const refused = await handle(request("filename='a' size='6'"), 'a@example.org/r');
  assert.ok(!refused.ok);
  assert.equal(
    refused.error.toString(),
    `<error type="wait"><resource-constraint xmlns="${S}"/><text xmlns="${S}" xml:lang="en">over quota</text><retry xmlns="urn:xmpp:http:upload:0" stamp="2025-06-17T13:00:00Z"/></error>`,
  );
  assert.ok((await handle(request("filename='a' size='5'"), 'a@example.org/r')).ok);
});

test('a throwing policy or hook → wait/internal-server-error, logged, never an exception', async () => {
  const boom: SlotPolicy = () => {
    throw new Error('ledger unreadable');
  };
  const a = handler({ policies: [boom] });
  const outcome = await a.handle(request(), 'a@example.org/r');
  assert.ok(!outcome.ok);
  assert.equal(`${outcome.refusal.type}/${outcome.refusal.condition}`, 'wait/internal-server-error');
  assert.match(a.lines.join(''), /"msg":"slot request failed".*ledger unreadable/);

  const b = handler({
    onSlotIssued: async () => {
      throw new Error('cannot record');
    },
  });
  const hooked = await b.handle(request(), 'a@example.org/r');
  assert.ok(!hooked.ok);
  assert.equal(hooked.refusal.condition, 'internal-server-error');
  assert.match(b.lines.join(''), /cannot record/);
});

test('an async issue (direct-to-storage PUT URL) is awaited and answered; its failure refuses the slot', async () => {
  const presigned =
    'https://s3.example.org/bucket/files/ID?X-Amz-Signature=abc&X-Amz-SignedHeaders=content-length%3Bhost';
  const handle = createSlotHandler({
    policies: () => [],
    issue: async (req, uploader, at) => {
      const issued = issueSlot(req, uploader, at, { secret: 's', endpoint, lifetime: 300_000 });
      await new Promise((r) => setImmediate(r));
      return { ...issued, urls: { ...issued.urls, put: presigned } };
    },
    now: () => NOW,
  });
  const outcome = await handle(
    parseXml("<request xmlns='urn:xmpp:http:upload'><filename>x</filename><size>1</size></request>"),
    'a@example.org/r',
  );
  assert.ok(outcome.ok);
  assert.equal(outcome.urls.put, presigned);
  assert.match(
    outcome.answer.toString(),
    /<put>https:\/\/s3\.example\.org\/bucket\/files\/ID\?X-Amz-Signature=abc&amp;X-Amz-SignedHeaders=content-length%3Bhost<\/put>/,
  );
  assert.match(outcome.answer.toString(), new RegExp(`<get>https://upload.example.org:443/${outcome.slot.id}/x</get>`));

  const failing = createSlotHandler({
    policies: () => [],
    issue: async () => Promise.reject(new Error('S3 unreachable')),
    now: () => NOW,
  });
  const refused = await failing(request(), 'a@example.org/r');
  assert.ok(!refused.ok);
  assert.equal(`${refused.refusal.type}/${refused.refusal.condition}`, 'wait/internal-server-error');
});
