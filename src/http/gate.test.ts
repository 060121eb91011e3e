import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RequestGate } from './gate.ts';

test('claimSlot: one holder per slot; released, the slot is free again; other slots are independent', () => {
  const gate = new RequestGate();
  const release = gate.claimSlot('a', () => false);
  assert.ok(release);
  assert.equal(
    gate.claimSlot('a', () => false),
    undefined,
  );
  const other = gate.claimSlot('b', () => false);
  assert.ok(other);
  release();
  release(); // twice is harmless
  const again = gate.claimSlot('a', () => false);
  assert.ok(again);
  // A stale release of the first holder does not free the second's claim.
  release();
  assert.equal(
    gate.claimSlot('a', () => false),
    undefined,
  );
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

test('waitAbandoned: a holder without a body byte for supersedeIdleMs is stopped and waited for; a busier one is not', async () => {
  const gate = new RequestGate();
  let idle = 4_999;
  let stopped = 0;
  const release: (() => void) | undefined = gate.claimSlot('a', {
    clientGone: () => false,
    idleFor: () => idle,
    supersede: () => (stopped++, release!()),
  });
  assert.equal(await gate.waitAbandoned('a', 10_000, 5_000), false, 'receiving: not taken from');
  assert.equal(stopped, 0);
  idle = 5_000;
  assert.equal(
    await gate.waitAbandoned('a', 10_000, 5_000),
    true,
    'stalled: stopped, and the slot is free once it has ended',
  );
  assert.equal(stopped, 1);
  assert.ok(gate.claimSlot('a', () => false));
});

test('waitAbandoned: a stalled holder that does not end within the bound keeps the slot', async () => {
  const gate = new RequestGate();
  let stopped = 0;
  gate.claimSlot('a', { clientGone: () => false, idleFor: () => 60_000, supersede: () => void stopped++ });
  assert.equal(await gate.waitAbandoned('a', 10, 5_000), false);
  assert.equal(stopped, 1);
  assert.equal(
    gate.claimSlot('a', () => false),
    undefined,
    'never two holders',
  );
});
