/**
 * The maintenance and configuration commands on storage = s3 with no shared folder at all, on a
 * real radosgw: purge, `slots ls` and `slots rm` open the bucket (refusing one serve never
 * initialised), take the maintenance lock as an object in the bucket (exit 3 while another node
 * holds it); on a cluster node `config set` writes `{s3Prefix}cluster/openfire.xml` in the bucket,
 * another node's `config get --json` reads it with layer `cluster`; doctor checks the bucket.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startRadosgw, type RadosgwServer } from '../../scripts/testservers/ceph.ts';
import { configSandbox, type ConfigSandbox } from '../support/config-cli.ts';
import { openfireXml, type ServeConfig } from '../support/serve.ts';
import { S3Store } from '../../src/storage/s3/index.ts';
import { S3ConditionalObjects } from '../../src/storage/s3/conditional.ts';
import { s3LockSpace } from '../../src/lock/s3.ts';
import { MAINTENANCE_LOCK } from '../../src/lock/lock.ts';
import { newSlotId } from '../../src/slots/id.ts';
import { ExitCode } from '../../src/cli/exit-codes.ts';

const PREFIX = 'cli/';

async function* bytes(n: number): AsyncGenerator<Uint8Array> {
  yield new Uint8Array(n).fill(7);
}

describe('maintenance and cluster configuration on S3 without a shared folder (radosgw)', () => {
  let rgw: RadosgwServer;
  let store: S3Store;
  let node1: ConfigSandbox;
  let node2: ConfigSandbox;
  let s3Props: ServeConfig;

  const writeNode = (t: ConfigSandbox, props: ServeConfig): void => {
    mkdirSync(join(t.dir, 'etc'), { recursive: true });
    writeFileSync(t.file, openfireXml(props), { mode: 0o600 });
  };

  before(async () => {
    rgw = await startRadosgw();
    s3Props = {
      storage: 's3',
      s3Endpoint: rgw.endpoint,
      s3Bucket: rgw.bucket,
      s3Region: rgw.region,
      s3AccessKey: rgw.accessKey,
      s3SecretKey: rgw.secretKey,
      s3Prefix: PREFIX,
    };
    store = new S3Store({
      endpoint: rgw.endpoint,
      bucket: rgw.bucket,
      region: rgw.region,
      forcePathStyle: true,
      accessKey: rgw.accessKey,
      secretKey: rgw.secretKey,
      prefix: PREFIX,
    });
    node1 = await configSandbox();
    node2 = await configSandbox();
  });
  after(async () => {
    await store?.close();
    await node1?.cleanup();
    await node2?.cleanup();
    await rgw?.stop();
  });

  it('purge and slots refuse a bucket prefix serve never initialised (exit 2)', () => {
    writeNode(node1, { ...s3Props, s3Prefix: 'typo/' });
    for (const args of [['purge'], ['slots', 'ls']]) {
      const r = node1.run(args);
      assert.equal(r.code, ExitCode.Usage, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /not a fileupload repository/);
    }
  });

  it('slots ls lists uploads in the bucket; purge deletes an expired one; slots rm removes by id', async () => {
    await store.open(); // what serve does on first start: the marker
    const now = Date.now();
    const keep = newSlotId();
    const expired = newSlotId();
    const base = { contentType: 'application/octet-stream', uploader: 'alice@example.org', issuedAt: now - 1000 };
    await store.write({ ...base, id: keep, filename: 'keep.bin', size: 10, purpose: 'message' }, bytes(10));
    await store.write(
      { ...base, id: expired, filename: 'gone.bin', size: 20, purpose: 'ephemeral', expireBefore: now - 1 },
      bytes(20),
    );
    writeNode(node1, s3Props);

    const ls = node1.run(['--json', 'slots', 'ls']);
    assert.equal(ls.code, 0, ls.stderr);
    const rows = ls.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: string; state: string });
    assert.deepEqual(new Set(rows.map((r) => r.id)), new Set([keep, expired]));

    const purge = node1.run(['--json', 'purge']);
    assert.equal(purge.code, 0, purge.stderr);
    const report = JSON.parse(purge.stdout) as { deletions: Array<{ id: string; rule: string; outcome: string }> };
    assert.deepEqual(
      report.deletions.map((d) => [d.id, d.rule, d.outcome]),
      [[expired, 'expired', 'deleted']],
    );
    assert.equal(await store.stat(expired), undefined);

    const rm = node1.run(['slots', 'rm', keep]);
    assert.equal(rm.code, 0, rm.stderr);
    assert.equal(await store.stat(keep), undefined);
  });

  it('while another node holds the maintenance lock in the bucket, purge and slots rm exit 3', async () => {
    const locks = s3LockSpace(new S3ConditionalObjects(store.connection), PREFIX);
    const held = await locks.acquire(MAINTENANCE_LOCK, { command: 'purge' });
    try {
      for (const args of [['purge'], ['slots', 'rm', newSlotId()]]) {
        const r = node1.run(args);
        assert.equal(r.code, ExitCode.Locked, `${args.join(' ')}: ${r.stderr}`);
        assert.match(
          r.stderr,
          new RegExp(`purge \\(pid ${process.pid} .*holds the lock s3://${rgw.bucket}/${PREFIX}locks/purge\\.lock`),
        );
      }
    } finally {
      await held.release();
    }
    assert.equal(node1.run(['purge']).code, 0, 'free again after release');
  });

  it('cluster on S3: config set on one node reaches another through the bucket; get --json names the layer', async () => {
    writeNode(node1, { ...s3Props, cluster: 'true', nodeName: 'node1' });
    writeNode(node2, { ...s3Props, cluster: 'true', nodeName: 'node2', maxFileSize: '1M' });
    const set = node1.run(['--json', 'config', 'set', 'maxFileSize', '7M']);
    assert.equal(set.code, 0, set.stderr);
    const setOut = JSON.parse(set.stdout) as { layer: string; file: string };
    assert.equal(setOut.layer, 'cluster');
    assert.equal(setOut.file, `s3://${rgw.bucket}/${PREFIX}cluster/openfire.xml`);

    const got = node2.run(['--json', 'config', 'get', 'maxFileSize']);
    assert.equal(got.code, 0, got.stderr);
    const value = JSON.parse(got.stdout) as { text: unknown; source: string };
    assert.equal(value.source, 'cluster', "the cluster value beats node2's own general value");
    assert.equal(value.text, '7M');

    // --local writes the node's own file (below the cluster value).
    const local = node2.run(['--json', 'config', 'set', '--local', 'maxFileSize', '2M']);
    assert.equal(local.code, 0, local.stderr);
    assert.equal((JSON.parse(local.stdout) as { layer: string }).layer, 'general');
    assert.equal(
      (JSON.parse(node2.run(['--json', 'config', 'get', 'maxFileSize']).stdout) as { source: string }).source,
      'cluster',
    );

    // Two nodes writing different properties at once: both land (conditional writes, retried).
    const [a, b] = await Promise.all([
      Promise.resolve().then(() => node1.run(['config', 'set', 'slotLifetime', '7m'])),
      Promise.resolve().then(() => node2.run(['config', 'set', 'maxAge', '3d'])),
    ]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    const doc = (await new S3ConditionalObjects(store.connection).get(`${PREFIX}cluster/openfire.xml`))!.text;
    assert.match(doc, /<slotLifetime>7m<\/slotLifetime>/);
    assert.match(doc, /<maxAge>3d<\/maxAge>/);
    assert.match(doc, /<maxFileSize>7M<\/maxFileSize>/);
  });

  it('doctor checks the bucket instead of a folder', () => {
    writeNode(node1, { ...s3Props, domain: 'upload.localhost', sharedSecret: 's' });
    const ok = node1.run(['--json', 'doctor']);
    const results = (JSON.parse(ok.stdout) as { checks: Array<{ check: string; status: string; message: string }> })
      .checks;
    const repo = results.find((r) => r.check === 'repository')!;
    assert.equal(repo.status, 'pass', repo.message);
    assert.match(repo.message, new RegExp(`s3://${rgw.bucket}/${PREFIX}.*writable`));
    assert.equal(results.find((r) => r.check === 'free-space')?.status, 'skip');

    writeNode(node1, { ...s3Props, s3Bucket: 'no-such-bucket', domain: 'upload.localhost', sharedSecret: 's' });
    const missing = (
      JSON.parse(node1.run(['--json', 'doctor']).stdout) as {
        checks: Array<{ check: string; status: string; message: string }>;
      }
    ).checks;
    const bad = missing.find((r) => r.check === 'repository')!;
    assert.equal(bad.status, 'fail');
    assert.match(bad.message, /no-such-bucket does not exist/);
  });
});
