import { test } from 'node:test';
import assert from 'node:assert/strict';
import { healthOf } from './health.ts';

const ok = { xmpp: { state: 'online' as const, detail: null }, recentInternalErrors: 0, restartPending: [] };

test('online, no internal errors, nothing pending: healthy', () => {
  assert.deepEqual(healthOf(ok), { status: 'healthy', reasons: [] });
});

test('a standby cluster node is healthy: another node holds the component', () => {
  assert.equal(healthOf({ ...ok, xmpp: { state: 'standby', detail: null } }).status, 'healthy');
});

test('every other xmpp state is degraded, with its detail', () => {
  for (const state of ['connecting', 'offline', 'auth-failed', 'conflict'] as const) {
    const h = healthOf({ ...ok, xmpp: { state, detail: null } });
    assert.deepEqual(h, { status: 'degraded', reasons: [`xmpp is ${state}`] });
  }
  assert.deepEqual(healthOf({ ...ok, xmpp: { state: 'auth-failed', detail: 'wrong sharedSecret' } }).reasons, [
    'xmpp is auth-failed (wrong sharedSecret)',
  ]);
});

test('internal errors of the last five minutes and a pending restart are degraded', () => {
  assert.deepEqual(healthOf({ ...ok, recentInternalErrors: 1 }).reasons, ['1 internal error in the last 5 minutes']);
  assert.deepEqual(healthOf({ ...ok, recentInternalErrors: 3 }).reasons, ['3 internal errors in the last 5 minutes']);
  assert.deepEqual(healthOf({ ...ok, restartPending: ['plugin.httpfileupload.webPort'] }), {
    status: 'degraded',
    reasons: ['restart pending: plugin.httpfileupload.webPort changed'],
  });
});

test('all reasons are given at once, in a fixed order', () => {
  const h = healthOf({
    xmpp: { state: 'offline', detail: null },
    recentInternalErrors: 2,
    restartPending: ['a', 'b'],
  });
  assert.deepEqual(h.reasons, [
    'xmpp is offline',
    '2 internal errors in the last 5 minutes',
    'restart pending: a, b changed',
  ]);
});
