import { test } from 'node:test';
import assert from 'node:assert/strict';
import { curlPutArgs, parseCurlOutcome } from './curl.ts';

test('curl arguments: Expect kept or removed, the rate limit and -k only when asked, the URL last', () => {
  const base = { url: 'http://127.0.0.1:1/u/x', file: '/tmp/payload' };
  const plain = curlPutArgs({ ...base, expect: true });
  assert.deepEqual(plain.slice(plain.indexOf('-T'), plain.indexOf('-T') + 2), ['-T', '/tmp/payload']);
  assert.ok(!plain.includes('Expect:') && !plain.includes('--limit-rate') && !plain.includes('-k'));
  assert.equal(plain.at(-1), base.url);
  const slow = curlPutArgs({ ...base, expect: false, limitRate: '50M', insecure: true });
  assert.deepEqual(slow.slice(slow.indexOf('Expect:') - 1, slow.indexOf('Expect:') + 1), ['-H', 'Expect:']);
  assert.deepEqual(slow.slice(slow.indexOf('--limit-rate'), slow.indexOf('--limit-rate') + 2), ['--limit-rate', '50M']);
  assert.ok(slow.includes('-k'));
  assert.equal(slow.at(-1), base.url);
});

test('the -w line: status, bytes sent, seconds; anything else is no outcome', () => {
  assert.deepEqual(parseCurlOutcome('201 1073741824 1.432107\n'), {
    status: 201,
    bytes: 1073741824,
    seconds: 1.432107,
  });
  assert.deepEqual(parseCurlOutcome('000 0 0.000512'), { status: 0, bytes: 0, seconds: 0.000512 });
  assert.equal(parseCurlOutcome(''), undefined);
  assert.equal(parseCurlOutcome('curl: (7) Failed to connect'), undefined);
});
