import { test } from 'node:test';
import assert from 'node:assert/strict';
import { signSlot, verifySlot } from './sign.ts';
import { newSlotId, isSlotId } from './id.ts';
import type { Slot } from './slot.ts';

const secret = 'test-secret-0123456789abcdef';
const now = 1_800_000_000_000;
const slot = (over: Partial<Slot> = {}): Slot => ({
  id: newSlotId(),
  filename: 'photo ü.jpg',
  size: 1234,
  contentType: 'image/jpeg',
  uploader: 'alice@example.org',
  issuedAt: now,
  expiresAt: now + 300_000,
  purpose: 'message',
  ...over,
});

test('ids are 144-bit base64url and distinct', () => {
  const ids = new Set(Array.from({ length: 1000 }, newSlotId));
  assert.equal(ids.size, 1000);
  for (const id of ids) assert.ok(isSlotId(id), id);
  for (const id of ids) assert.ok(!id.startsWith('-'), `${id} would read as a command-line option`);
  assert.equal(isSlotId('../../etc/passwd'), false);
  assert.equal(isSlotId('a'.repeat(23)), false);
});

test('a signed slot verifies with every field intact', () => {
  const s = slot({ purpose: 'ephemeral', expireBefore: now + 3_600_000 });
  const r = verifySlot(secret, s.id, s.filename, signSlot(secret, s), now + 1000);
  assert.deepEqual(r, { ok: true, slot: s });
});

test('a slot without content type round-trips without one', () => {
  const s = slot();
  delete s.contentType;
  const r = verifySlot(secret, s.id, s.filename, signSlot(secret, s), now);
  assert.ok(r.ok);
  assert.equal('contentType' in r.slot, false);
});

test('a different secret, id or filename is forged', () => {
  const s = slot();
  const t = signSlot(secret, s);
  assert.deepEqual(verifySlot('other-secret', s.id, s.filename, t, now), { ok: false, reason: 'forged' });
  assert.deepEqual(verifySlot(secret, newSlotId(), s.filename, t, now), { ok: false, reason: 'forged' });
  assert.deepEqual(verifySlot(secret, s.id, 'other.jpg', t, now), { ok: false, reason: 'forged' });
});

test('an altered payload is forged', () => {
  const s = slot();
  const [payload, sig] = signSlot(secret, s).split('.') as [string, string];
  const fields = JSON.parse(Buffer.from(payload, 'base64url').toString());
  fields[1] = 999_999_999; // bigger size
  const altered = `${Buffer.from(JSON.stringify(fields)).toString('base64url')}.${sig}`;
  assert.deepEqual(verifySlot(secret, s.id, s.filename, altered, now), { ok: false, reason: 'forged' });
});

test('an expired slot is refused as expired', () => {
  const s = slot();
  assert.deepEqual(verifySlot(secret, s.id, s.filename, signSlot(secret, s), s.expiresAt + 1), {
    ok: false,
    reason: 'expired',
  });
});

test('garbage tokens are malformed, not exceptions', () => {
  const s = slot();
  for (const t of ['', '.', 'abc', 'a.b.c', '.sig']) {
    const r = verifySlot(secret, s.id, s.filename, t, now);
    assert.equal(r.ok, false, t);
  }
});

test('a token has exactly one spelling: padding, +, /, whitespace and non-zero unused bits are malformed', () => {
  // A signature is 32 bytes: 43 base64url characters, the last one with 2 unused low bits.
  const s = slot();
  const t = signSlot(secret, s);
  assert.ok(verifySlot(secret, s.id, s.filename, t, now).ok);
  const [payload, signature] = t.split('.') as [string, string];
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  // The lowest bit flipped: another character that decodes to the same bytes.
  const sibling = alphabet[alphabet.indexOf(signature.at(-1)!) ^ 1]!;
  assert.deepEqual(
    Buffer.from(signature.slice(0, -1) + sibling, 'base64url'),
    Buffer.from(signature, 'base64url'),
    'the sibling decodes alike',
  );
  const std = (x: string) => Buffer.from(x, 'base64url').toString('base64');
  const variants = [
    `${t}=`,
    `${t}==`,
    `${payload}.${std(signature)}`,
    `${payload}=.${signature}`,
    `${std(payload)}.${signature}`,
    `${payload}.${signature.slice(0, 10)} ${signature.slice(10)}`,
    `${payload}.${signature}\n`,
    ` ${t}`,
    `${payload}.${signature.slice(0, -1)}${sibling}`,
  ];
  for (const v of variants) {
    if (v === t) continue; // standard base64 of a payload without - or _ and without padding
    assert.deepEqual(
      verifySlot(secret, s.id, s.filename, v, now),
      { ok: false, reason: 'malformed' },
      JSON.stringify(v),
    );
  }
});
