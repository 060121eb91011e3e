/**
 * Quotas end to end: a real Prosody, `serve` as its upload component, a real XMPP client.
 * Needs serve to wire the retention layer (createRetention in src/serve/retention.ts:
 * quotaPolicy in the component's policies, onSlotIssued, the HTTP onUploadFinished hook and the
 * purposes for disco).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mustGetSlot, putToSlot, startStack, type Stack } from '../support/stack.ts';
import { NS_UPLOAD_0, NS_UPLOAD_LEGACY } from '../support/xmpp-client.ts';
import { runFileupload } from '../support/serve.ts';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { userKey } from '../../src/inventory/names.ts';

const DAY = 86_400_000;
let stack: Stack;

before(async () => {
  stack = await startStack('prosody', { dailyQuota: 1000, userQuota: 5000, maxFileSize: 100_000 });
});
after(() => stack?.stop());

const spec = (size: number, namespace = NS_UPLOAD_0) => ({
  namespace,
  shape: 'attributes' as const,
  filename: 'q.bin',
  size,
});

test('daily quota through Prosody: wait/resource-constraint with a retry stamp a day after the upload', async () => {
  const slot = await mustGetSlot(stack.alice, stack.service, spec(600));
  const before = Date.now();
  const put = await putToSlot(slot, Buffer.alloc(600, 0x61));
  assert.equal(put.status, 201);
  const after = Date.now();

  // The index is written right after the 201 (until then the pending slot counts, with a later
  // retry time); wait for the upload's log entry (bounded) so the stamp is exactly predictable.
  const logDir = join(String(stack.config.fileRepo), 'index', 'users', userKey('alice@localhost'), 'log');
  for (let i = 0; i < 100 && (await readdir(logDir).catch(() => [])).length === 0; i++)
    await new Promise((r) => setTimeout(r, 20));
  const refused = await stack.alice.requestSlot(stack.service, spec(600));
  assert.equal(refused.ok, false, 'a second 600-byte slot exceeds the 1000-byte daily quota');
  if (refused.ok) return;
  assert.equal(refused.error.type, 'wait');
  assert.equal(refused.error.condition, 'resource-constraint');
  assert.match(refused.error.retryStamp ?? '', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/);
  const stamp = Date.parse(refused.error.retryStamp ?? '');
  assert.ok(
    stamp >= before + DAY && stamp <= after + DAY + 1000,
    `retry ${refused.error.retryStamp} is a day after the upload`,
  );

  // The legacy namespace is refused too (it has no <retry/>, the condition is the same).
  const legacy = await stack.alice.requestSlot(stack.service, spec(600, NS_UPLOAD_LEGACY));
  assert.ok(!legacy.ok && legacy.error.type === 'wait' && legacy.error.condition === 'resource-constraint');
});

test('pending slots count: a burst of slot requests cannot go past the quota; slots ls sees them', async () => {
  // 600 stored today; 400 left. Ten slots of 100 bytes requested at once: exactly four pass.
  const outcomes = await Promise.all(
    Array.from({ length: 10 }, () => stack.alice.requestSlot(stack.service, spec(100))),
  );
  const granted = outcomes.filter((o) => o.ok).length;
  assert.equal(granted, 4);
  for (const o of outcomes) if (!o.ok) assert.equal(o.error.condition, 'resource-constraint');

  const ls = await runFileupload([
    '--config',
    stack.serve.configFile,
    '--json',
    'slots',
    'ls',
    '--user',
    'alice@localhost',
  ]);
  assert.equal(ls.code, 0, ls.stderr);
  const rows = ls.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { state: string; size: number });
  assert.equal(rows.filter((r) => r.state === 'pending').length, granted);
  assert.deepEqual(
    rows.filter((r) => r.state === 'stored').map((r) => r.size),
    [600],
  );
});

test('a file larger than a quota by itself: modify/not-acceptable, no retry', async () => {
  const o = await stack.alice.requestSlot(stack.service, spec(6000));
  assert.ok(!o.ok);
  if (o.ok) return;
  assert.equal(o.error.type, 'modify');
  assert.equal(o.error.condition, 'not-acceptable');
  assert.equal(o.error.retryStamp, undefined);
});

test('disco advertises the supported purposes', async () => {
  const info = await stack.alice.discoInfo(stack.service);
  for (const p of ['message', 'ephemeral', 'profile', 'permanent']) {
    assert.ok(info.features.includes(`urn:xmpp:http:upload:purpose:0#${p}`), `purpose ${p}`);
  }
});
