import { test } from 'node:test';
import assert from 'node:assert/strict';
import { raisedLimits, raisedLimitsLine, SLOT_REQUESTS, UNRAISED } from './limits.ts';
import { catalogue } from '../../src/config/catalogue.ts';

const parsed = (slowCount: number) =>
  Object.fromEntries(
    raisedLimits({ slowCount }).map(({ name, value }) => [
      name,
      catalogue[name as keyof typeof catalogue].parse(value) as number,
    ]),
  );

test('every raised limit is a catalogue property and its value is valid there', () => {
  for (const { name, value } of raisedLimits({ slowCount: 500 })) {
    assert.ok(Object.hasOwn(catalogue, name), name);
    assert.doesNotThrow(() => catalogue[name as keyof typeof catalogue].parse(value), `${name}=${value}`);
  }
});

test('the raised limits are unlimited or above what one run asks of one address and one JID', () => {
  for (const slowCount of [1, 50, 500, 3000]) {
    const v = parsed(slowCount);
    assert.equal(v.maxFileSize, -1);
    assert.equal(v.dailyQuota, -1);
    assert.ok(v.maxPendingSlots! <= 0, 'unlimited');
    assert.ok(v.slotRequestBurst! > SLOT_REQUESTS, 'the whole slots phase fits in the burst');
    assert.ok(v.slotRequestRate! > 0, 'finite: the bucket stays measured');
    assert.ok(
      v.maxConnectionsPerAddress! >= 2 * slowCount,
      `${v.maxConnectionsPerAddress} for ${slowCount} slow uploads`,
    );
    assert.ok(v.maxConnectionsPerAddress! > 256, 'above the largest default');
  }
});

test('the start line names each raised limit with its value, and what is left at its default', () => {
  const limits = raisedLimits({ slowCount: 500 });
  const line = raisedLimitsLine(limits);
  assert.equal(line.split('\n').length, 1);
  for (const { name, value } of limits) assert.ok(line.includes(`${name}=${value}`), `${name}=${value} in ${line}`);
  assert.match(line, /maxConnectionsPerAddress=1024\b/);
  assert.match(line, /dailyQuota=0 \(unlimited\), /);
  assert.match(line, /maxFileSize=-1 \(unlimited\), /);
  assert.match(line, /slotRequestRate=1000000, /);
  const [raised, left] = line.split('; left at defaults: ');
  for (const name of ['maxConnections', 'minUploadRate', 'idleTimeout']) {
    assert.ok(left!.includes(name), name);
    assert.ok(!raised!.includes(`${name}=`), `${name} is not raised`);
  }
  assert.equal(UNRAISED.length, 3);
});
