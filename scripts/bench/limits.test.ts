import { test } from 'node:test';
import assert from 'node:assert/strict';
import { raisedLimits, raisedLimitsLine, SLOT_REQUESTS, uploadedBytes, UNRAISED } from './limits.ts';
import { catalogue } from '../../src/config/catalogue.ts';

const load = { bigBytes: 1 << 30, smallCount: 2000, slowCount: 500 };
const parsed = (l: typeof load) =>
  Object.fromEntries(raisedLimits(l).map(({ name, value }) => [name, catalogue[name as keyof typeof catalogue].parse(value) as number]));

test('every raised limit is a catalogue property and its value is valid there', () => {
  for (const { name, value } of raisedLimits(load)) {
    assert.ok(Object.hasOwn(catalogue, name), name);
    assert.doesNotThrow(() => catalogue[name as keyof typeof catalogue].parse(value), `${name}=${value}`);
  }
});

test('the raised limits lie above what one run asks of one address and one JID', () => {
  for (const l of [load, { bigBytes: 64 << 20, smallCount: 200, slowCount: 50 }, { bigBytes: 8 << 30, smallCount: 20_000, slowCount: 3000 }]) {
    const v = parsed(l);
    assert.equal(v.maxFileSize, -1);
    assert.ok(v.slotRequestBurst! > SLOT_REQUESTS, 'the whole slots phase fits in the burst');
    assert.ok(v.maxPendingSlots! > SLOT_REQUESTS);
    assert.ok(v.slotRequestRate! > 0);
    assert.ok(v.dailyQuota! >= 2 * uploadedBytes(l), `dailyQuota ${v.dailyQuota} for ${JSON.stringify(l)}`);
    assert.ok(v.maxConnectionsPerAddress! >= 2 * l.slowCount && v.maxConnectionsPerAddress! > 256);
  }
});

test('what one run uploads counts the big file twice, the warm-up, the slow uploads and the slot requests', () => {
  const base = uploadedBytes({ bigBytes: 0, smallCount: 0, slowCount: 0 });
  assert.ok(base > SLOT_REQUESTS * 1024 && base < 1.1 * (SLOT_REQUESTS * 1024 + 300 * 65536));
  assert.equal(uploadedBytes({ bigBytes: 10, smallCount: 0, slowCount: 0 }) - base, 20);
  assert.equal(uploadedBytes({ bigBytes: 0, smallCount: 1, slowCount: 0 }) - base, 65536);
  assert.equal(uploadedBytes({ bigBytes: 0, smallCount: 0, slowCount: 1 }) - base, 1 << 20);
});

test('the start line names each raised limit with its value, and what is left at its default', () => {
  const limits = raisedLimits(load);
  const line = raisedLimitsLine(limits);
  assert.equal(line.split('\n').length, 1);
  for (const { name, value } of limits) assert.ok(line.includes(`${name}=${value}`), `${name}=${value} in ${line}`);
  assert.match(line, /maxConnectionsPerAddress=1024\b/);
  assert.match(line, /dailyQuota=6G\b/);
  const [raised, left] = line.split('; left at defaults: ');
  for (const name of ['maxConnections ', 'minUploadRate', 'idleTimeout']) {
    assert.ok(left!.includes(name), name);
    assert.ok(!raised!.includes(`${name.trim()}=`), `${name} is not raised`);
  }
  assert.equal(UNRAISED.length, 3);
});
