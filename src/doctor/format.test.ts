import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatJson, formatReport } from './format.ts';
import { fail, pass, skip, summarize, warn, worst } from './result.ts';

const results = [
  pass('config', 'valid'),
  warn('tls', 'plain http', 'use TLS'),
  fail('xmpp', 'refused', 'set the secret'),
  skip('free-space', 'n/a'),
];

test('summarize counts every status and is ok only without failures', () => {
  assert.deepEqual(summarize(results), { pass: 1, warn: 1, fail: 1, skip: 1, ok: false });
  assert.equal(summarize([pass('a', 'b'), warn('c', 'd', 'e')]).ok, true);
});

test('the text report has one line per check, fixes below, and a summary line', () => {
  const text = formatReport(results, summarize(results));
  assert.equal(
    text,
    [
      'pass  config      valid',
      'warn  tls         plain http',
      '      fix: use TLS',
      'fail  xmpp        refused',
      '      fix: set the secret',
      'skip  free-space  n/a',
      'summary: 1 pass, 1 warn, 1 fail, 1 skip: 1 problem to fix',
      '',
    ].join('\n'),
  );
});

test('the JSON report has checks with fix only where there is one, and the summary', () => {
  const doc = JSON.parse(formatJson(results, summarize(results))) as {
    checks: Record<string, unknown>[];
    summary: { ok: boolean };
  };
  assert.deepEqual(doc.checks[0], { check: 'config', status: 'pass', message: 'valid' });
  assert.deepEqual(doc.checks[2], { check: 'xmpp', status: 'fail', message: 'refused', fix: 'set the secret' });
  assert.equal(doc.summary.ok, false);
});

test('worst orders fail > warn > pass > skip', () => {
  assert.equal(worst(['pass', 'skip']), 'pass');
  assert.equal(worst(['warn', 'fail', 'pass']), 'fail');
  assert.equal(worst([]), 'skip');
});
