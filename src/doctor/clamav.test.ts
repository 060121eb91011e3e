import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { clamavVerdict, gatherClamavFacts, type ClamavFacts } from './clamav.ts';
import { testSettings } from '../../test/support/http-kit.ts';
import { clamdMissing, startClamd, type ClamdTestServer } from '../../scripts/testservers/clamd.ts';
import { freePort } from '../../scripts/testservers/processes.ts';

const base: ClamavFacts = { enabled: true, host: '127.0.0.1', port: 3310, failOpen: false, streamMaxLength: 1000 };

test('clamavVerdict: off is skipped; a silent clamd fails saying what uploads get; a short StreamMaxLength fails', () => {
  assert.equal(clamavVerdict({ ...base, enabled: false }, 'fileupload').status, 'skip');
  const down = clamavVerdict({ ...base, ping: { ok: false, reason: 'refused' } }, 'fileupload');
  assert.equal(down.status, 'fail');
  assert.match(down.message, /every upload is refused/);
  assert.match(down.fix ?? '', /clamavHost/);
  const open = clamavVerdict({ ...base, failOpen: true, ping: { ok: false, reason: 'refused' } }, 'fileupload');
  assert.match(open.message, /published unscanned/);
  const short = clamavVerdict(
    {
      ...base,
      ping: { ok: true, reply: 'PONG' },
      version: { ok: true, reply: 'ClamAV 1.4.3' },
      stream: { ok: false, reason: 'too large' },
    },
    'fileupload',
  );
  assert.equal(short.status, 'fail');
  assert.match(short.fix ?? '', /StreamMaxLength to at least 1000/);
});

describe('against a real clamd', { skip: clamdMissing() }, () => {
  let clamd: ClamdTestServer;
  before(async () => {
    clamd = await startClamd({ streamMaxLength: 64 * 1024 });
  });
  after(() => clamd?.stop());

  const settings = (over: Parameters<typeof testSettings>[0]) =>
    testSettings({ clamavEnabled: true, clamavHost: clamd.host, clamavPort: clamd.port, ...over });

  test('clamd answering with a large enough StreamMaxLength passes, naming its version', async () => {
    const r = clamavVerdict(await gatherClamavFacts(settings({ clamavStreamMaxLength: 64 * 1024 }), 4000), 'fu');
    assert.equal(r.status, 'pass', r.message);
    assert.match(r.message, /ClamAV \d/);
  });

  test('clamavStreamMaxLength above clamd’s StreamMaxLength fails with the fix', async () => {
    const r = clamavVerdict(await gatherClamavFacts(settings({ clamavStreamMaxLength: 128 * 1024 }), 4000), 'fu');
    assert.equal(r.status, 'fail', r.message);
    assert.match(r.message, /131072 bytes/);
  });

  test('nothing listening on clamavPort fails', async () => {
    const r = clamavVerdict(await gatherClamavFacts(settings({ clamavPort: await freePort() }), 4000), 'fu');
    assert.equal(r.status, 'fail');
    assert.match(r.message, /does not answer PING/);
  });
});
