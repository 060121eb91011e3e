import { test } from 'node:test';
import assert from 'node:assert/strict';
import { issueSlot } from './issue-slot.ts';
import { verifySlot } from '../slots/sign.ts';
import { isSlotId } from '../slots/id.ts';

const endpoint = {
  protocol: 'https' as const,
  host: 'files.bücher.example',
  port: 7443,
  contextRoot: '/httpfileupload',
};
const secret = 'test-secret';
const NOW = 1_750_000_000_000;

test('a slot carries the request, the uploader, the lifetime; the token verifies; GET has no secret', () => {
  const { slot, urls } = issueSlot(
    {
      namespace: 'urn:xmpp:http:upload:0',
      shape: 'attributes',
      filename: 'grüße 1.jpg',
      size: 1234,
      contentType: 'image/jpeg',
      purpose: 'message',
    },
    'alice@example.org',
    NOW,
    { secret, endpoint, lifetime: 300_000 },
  );
  assert.ok(isSlotId(slot.id));
  assert.deepEqual(
    { ...slot, id: 'ID' },
    {
      id: 'ID',
      filename: 'grüße 1.jpg',
      size: 1234,
      contentType: 'image/jpeg',
      uploader: 'alice@example.org',
      issuedAt: NOW,
      expiresAt: NOW + 300_000,
      purpose: 'message',
    },
  );
  assert.equal(urls.get, `https://files.xn--bcher-kva.example:7443/httpfileupload/${slot.id}/gr%C3%BC%C3%9Fe%201.jpg`);
  assert.ok(urls.put.startsWith(`${urls.get}?t=`));
  const token = new URL(urls.put).searchParams.get('t') ?? '';
  assert.deepEqual(verifySlot(secret, slot.id, slot.filename, token, NOW + 1000), { ok: true, slot });
  assert.equal(
    verifySlot(secret, slot.id, slot.filename, token, NOW + 300_001).ok,
    false,
    'expires after the lifetime',
  );
});

test('ephemeral slots carry expireBefore; each slot gets a new id', () => {
  const request = {
    namespace: 'urn:xmpp:http:upload' as const,
    shape: 'elements' as const,
    filename: 'a',
    size: 1,
    purpose: 'ephemeral' as const,
    expireBefore: NOW + 86_400_000,
  };
  const a = issueSlot(request, 'bob@example.org', NOW, { secret, endpoint, lifetime: 1000 });
  const b = issueSlot(request, 'bob@example.org', NOW, { secret, endpoint, lifetime: 1000 });
  assert.equal(a.slot.expireBefore, NOW + 86_400_000);
  assert.equal(a.slot.purpose, 'ephemeral');
  assert.equal('contentType' in a.slot, false);
  assert.notEqual(a.slot.id, b.slot.id);
});
