import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { clamdMissing, clamdConfig, hdbLine, ndbLine, startClamd } from './clamd.ts';
import { processAlive } from './processes.ts';
import { clamdPing } from '../../src/scan/clamav.ts';

test('hdbLine is md5:size:name and ndbLine is name:0:*:hex', () => {
  assert.equal(
    hdbLine({ name: 'Test.Custom', content: Buffer.from('hello') }),
    '5d41402abc4b2a76b9719d911017c592:5:Test.Custom',
  );
  assert.equal(ndbLine('Test.Body', Buffer.from('AB')), 'Test.Body:0:*:4142');
});

test('clamdConfig listens on loopback only and keeps everything in its dir', () => {
  const conf = clamdConfig({ dir: '/tmp/x', port: 40001, streamMaxLength: 1000, maxThreads: 2 });
  assert.match(conf, /^TCPAddr 127\.0\.0\.1$/m);
  assert.match(conf, /^TCPSocket 40001$/m);
  assert.match(conf, /^DatabaseDirectory \/tmp\/x\/db$/m);
  assert.match(conf, /^StreamMaxLength 1000$/m);
  assert.doesNotMatch(conf, /^(User|LocalSocket) /m);
});

test(
  'startClamd loads the written signatures, answers PING, and stop() leaves nothing',
  { skip: clamdMissing() },
  async () => {
    const clamd = await startClamd({ signatures: [{ name: 'Test.Custom', content: Buffer.from('hello') }] });
    const pid = Number(readFileSync(join(clamd.dir, 'clamd.pid'), 'utf8'));
    try {
      assert.match(clamd.logs(), /Loaded 2 signatures/);
      assert.deepEqual(await clamdPing(clamd), { ok: true, reply: 'PONG' });
    } finally {
      await clamd.stop();
    }
    assert.equal(processAlive(pid), false);
    assert.equal(existsSync(clamd.dir), false);
    assert.equal((await clamdPing({ ...clamd, connectionTimeout: 60_000 })).ok, false);
  },
);
