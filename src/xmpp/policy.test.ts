import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  allow,
  purposePolicy,
  refuse,
  runPolicies,
  sizePolicy,
  type SlotPolicy,
  type SlotRequestContext,
} from './policy.ts';
import { badRequest, quotaExceeded } from './refusal.ts';
import type { SlotRequest } from './slot-request.ts';

const ctx = (request: Partial<SlotRequest> = {}): SlotRequestContext => ({
  request: {
    namespace: 'urn:xmpp:http:upload:0',
    shape: 'attributes',
    filename: 'a.bin',
    size: 100,
    purpose: 'message',
    ...request,
  },
  requester: { jid: 'alice@example.org/x', bare: 'alice@example.org', domain: 'example.org' },
  now: 0,
});

test('runPolicies: all allow → allow; the first refusal wins and later policies do not run', async () => {
  const ran: string[] = [];
  const mk =
    (name: string, decision = allow): SlotPolicy =>
    async () => {
      ran.push(name);
      return decision;
    };
  assert.deepEqual(await runPolicies([mk('a'), mk('b')], ctx()), allow);
  ran.length = 0;
  const d = await runPolicies(
    [mk('a'), mk('b', refuse(badRequest('b says no'))), mk('c', refuse(badRequest('c says no')))],
    ctx(),
  );
  assert.deepEqual(d, { ok: false, refusal: { type: 'modify', condition: 'bad-request', text: 'b says no' } });
  assert.deepEqual(ran, ['a', 'b']);
  assert.deepEqual(await runPolicies([], ctx()), allow);
});

test('runPolicies: a throwing policy rejects (the caller answers internal-server-error)', async () => {
  await assert.rejects(
    runPolicies(
      [
        () => {
          throw new Error('disk gone');
        },
      ],
      ctx(),
    ),
    /disk gone/,
  );
});

test('refuse keeps only the refusal fields (a quota decision can be passed as is)', () => {
  const quotaDecision = {
    ok: false,
    quota: 'user',
    type: 'wait',
    condition: 'resource-constraint',
    text: 'full',
    retryAt: 5,
    limit: 1,
    used: 2,
  } as const;
  assert.deepEqual(refuse(quotaDecision), {
    ok: false,
    refusal: { type: 'wait', condition: 'resource-constraint', text: 'full', retryAt: 5 },
  });
  assert.deepEqual(refuse(quotaExceeded('x')), {
    ok: false,
    refusal: { type: 'wait', condition: 'resource-constraint', text: 'x' },
  });
});

test('sizePolicy: up to the limit passes, one byte more is file-too-large; negative = unlimited', async () => {
  assert.deepEqual(await sizePolicy(100)(ctx({ size: 100 })), allow);
  const d = await sizePolicy(100)(ctx({ size: 101 }));
  assert.ok(!d.ok);
  assert.deepEqual([d.refusal.type, d.refusal.condition, d.refusal.maxFileSize], ['modify', 'not-acceptable', 100]);
  assert.deepEqual(await sizePolicy(-1)(ctx({ size: Number.MAX_SAFE_INTEGER })), allow);
  assert.equal((await sizePolicy(0)(ctx({ size: 1 }))).ok, false);
});

test('purposePolicy: message always, others only when supported', async () => {
  assert.deepEqual(await purposePolicy([])(ctx({ purpose: 'message' })), allow);
  assert.deepEqual(await purposePolicy(['ephemeral'])(ctx({ purpose: 'ephemeral', expireBefore: 1 })), allow);
  const d = await purposePolicy(['message'])(ctx({ purpose: 'profile' }));
  assert.ok(!d.ok);
  assert.equal(`${d.refusal.type}/${d.refusal.condition}`, 'cancel/feature-not-implemented');
  assert.match(d.refusal.text, /profile/);
});
