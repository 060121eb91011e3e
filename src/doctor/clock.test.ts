import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clockVerdict, ntpSynchronized } from './clock.ts';

const now = Date.parse('2025-06-01T12:00:00Z');

test('a plausible clock passes and names what it agreed with', () => {
  const r = clockVerdict({ now, others: [{ who: "serve's admin API", time: now + 900 }], ntpSynchronized: true });
  assert.equal(r.status, 'pass');
  assert.match(r.message, /agrees with serve's admin API, NTP-synchronised/);
});

test('a clock before 2024 fails', () => {
  const r = clockVerdict({ now: Date.parse('1970-01-02T00:00:00Z'), others: [], ntpSynchronized: undefined });
  assert.equal(r.status, 'fail');
  assert.match(r.fix ?? '', /timedatectl set-ntp true/);
});

test('a clock far from another warns with the direction', () => {
  const r = clockVerdict({
    now,
    others: [{ who: 'the server answering https://x', time: now - 120_000 }],
    ntpSynchronized: undefined,
  });
  assert.equal(r.status, 'warn');
  assert.match(r.message, /120 s ahead of the server answering/);
});

test('an unsynchronised clock warns', () => {
  assert.equal(clockVerdict({ now, others: [], ntpSynchronized: false }).status, 'warn');
});

test('ntpSynchronized answers a boolean or undefined', async () => {
  const v = await ntpSynchronized();
  assert.ok(v === undefined || typeof v === 'boolean');
});
