import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RequestGate } from './gate.ts';

test('claimSlot: one holder per slot; released, the slot is free again; other slots are independent', () => {
  const gate = new RequestGate();
  const release = gate.claimSlot('a', () => false);
  assert.ok(release);
  assert.equal(gate.claimSlot('a', () => false), undefined);
  const other = gate.claimSlot('b', () => false);
  assert.ok(other);
  release();
  release(); // twice is harmless
  const again = gate.claimSlot('a', () => false);
  assert.ok(again);
  // A stale release of the first holder does not free the second's claim.
  release();
  assert.equal(gate.claimSlot('a', () => false), undefined);
  again();
  other();
});

test('waitAbandoned: a holder whose client is still there is not waited for', async () => {
  const gate = new RequestGate();
  const release = gate.claimSlot('a', () => false);
  assert.equal(await gate.waitAbandoned('a', 10_000), false);
  release!();
  assert.equal(await gate.waitAbandoned('a', 10_000), true, 'a free slot needs no wait');
});

test('waitAbandoned: a holder whose client left is waited for until it releases', async () => {
  const gate = new RequestGate();
  const release = gate.claimSlot('a', () => true)!;
  const waiting = gate.waitAbandoned('a', 60_000);
  release();
  assert.equal(await waiting, true);
  assert.ok(gate.claimSlot('a', () => false));
});

test('waitAbandoned: gives up after its bound when the holder does not end', async () => {
  const gate = new RequestGate();
  gate.claimSlot('a', () => true);
  assert.equal(await gate.waitAbandoned('a', 10), false);
});
