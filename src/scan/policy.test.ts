import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RETRY_AFTER_SECONDS, scanDecision, type ScanPolicy } from './policy.ts';

const closed: ScanPolicy = { failOpen: false, tooLarge: 'refuse', streamMaxLength: 1000 };
const open: ScanPolicy = { failOpen: true, tooLarge: 'publish-unscanned', streamMaxLength: 1000 };

test('clean publishes; infected is refused with 422 naming the signature, whatever the policy', () => {
  for (const policy of [closed, open]) {
    assert.deepEqual(scanDecision({ verdict: 'clean' }, policy), { publish: true });
    assert.deepEqual(scanDecision({ verdict: 'infected', signature: 'Eicar-Signature' }, policy), {
      publish: false,
      status: 422,
      message: 'upload refused: malware found (Eicar-Signature)',
    });
  }
});

test('too large to scan: 413 naming the limit, or published unscanned with the reason', () => {
  const refused = scanDecision({ verdict: 'too-large' }, closed);
  assert.equal(refused.publish, false);
  assert.ok(!refused.publish && refused.status === 413 && refused.message.includes('1000 bytes'));
  assert.deepEqual(scanDecision({ verdict: 'too-large' }, open), {
    publish: true,
    unscanned: 'larger than clamavStreamMaxLength (1000 bytes)',
  });
});

test('clamd cannot scan: 503 with Retry-After when failing closed, published with the reason when open', () => {
  const verdict = { verdict: 'error', reason: 'clamd at 127.0.0.1:1 refused the connection' } as const;
  const refused = scanDecision(verdict, closed);
  assert.ok(!refused.publish && refused.status === 503 && refused.retryAfter === RETRY_AFTER_SECONDS);
  assert.match(refused.publish ? '' : refused.message, /cannot be scanned/);
  assert.deepEqual(scanDecision(verdict, open), { publish: true, unscanned: verdict.reason });
});
