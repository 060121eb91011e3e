import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { catalogue } from '../config/catalogue.ts';
import { ConfigError, ConfigSyntaxError } from '../config/errors.ts';
import { ensureSlotSecret, loadLayers, loadSettings, settingsFromLayers } from '../config/load.ts';
import { readProperty, parseOpenfireXml } from '../config/openfire-xml.ts';
import { defaultsLayer, mapLayer, Resolver } from '../config/resolve.ts';
import {
  clusterLayers,
  clusterOf,
  clusterPreconditionAfter,
  clusterStoreOf,
  ClusterTargetError,
  writeTarget,
} from './config-layer.ts';
import { sharedConfigPath } from './shared-config/fs.ts';

const xml = (general: Record<string, string>, specific: Record<string, string> = {}) => {
  const leaves = (o: Record<string, string>) =>
    Object.entries(o)
      .map(([k, v]) => `<${k}>${v}</${k}>`)
      .join('');
  return `<?xml version="1.0"?>\n<jive><plugin><httpfileupload>${leaves(general)}<serverspecific>${leaves(specific)}</serverspecific></httpfileupload></plugin></jive>\n`;
};

async function withCluster(
  f: (ctx: { dir: string; repo: string; node: string; shared: string }) => Promise<void>,
): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'cluster-layer-'));
  try {
    const repo = join(dir, 'repo');
    await mkdir(join(repo, 'cluster'), { recursive: true });
    await f({ dir, repo, node: join(dir, 'node.xml'), shared: sharedConfigPath(repo) });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('precedence on a cluster node: serverspecific > cluster > general > default, each source named', async () => {
  await withCluster(async ({ repo, node, shared }) => {
    await writeFile(
      node,
      xml(
        { fileRepo: repo, cluster: 'true', maxFileSize: '1M', slotLifetime: '60s', xmppPort: '5347' },
        { maxFileSize: '3M' },
      ),
    );
    await writeFile(shared, xml({ maxFileSize: '2M', slotLifetime: '120s' }));
    const r = new Resolver(await loadLayers(node, { cluster: clusterLayers }));
    assert.deepEqual(
      r.layers.map((l) => l.source),
      ['serverspecific', 'cluster', 'general', 'default'],
    );
    const at = (k: keyof typeof catalogue) => [r.resolve(k).text, r.resolve(k).source];
    assert.deepEqual(at('maxFileSize'), ['3M', 'serverspecific']);
    assert.deepEqual(at('slotLifetime'), ['120s', 'cluster']);
    assert.deepEqual(at('xmppPort'), ['5347', 'general']);
    assert.deepEqual(at('xmppHost'), ['localhost', 'default']);
  });
});

test('the cluster layer never supplies bootstrap properties, nor serverspecific ones', async () => {
  await withCluster(async ({ dir, repo, node, shared }) => {
    await writeFile(node, xml({ fileRepo: repo, cluster: 'true' }));
    await writeFile(
      shared,
      xml(
        { fileRepo: join(dir, 'elsewhere'), cluster: 'false', nodeName: 'everyone', domain: 'upload.example.org' },
        { domain: 'x.example.org' },
      ),
    );
    const r = new Resolver(await loadLayers(node, { cluster: clusterLayers }));
    assert.deepEqual([r.resolve('fileRepo').text, r.resolve('fileRepo').source], [repo, 'general']);
    assert.deepEqual([r.resolve('cluster').text, r.resolve('cluster').source], ['true', 'general']);
    assert.equal(r.resolve('nodeName').source, 'default');
    assert.deepEqual([r.resolve('domain').text, r.resolve('domain').source], ['upload.example.org', 'cluster']);
  });
});

test('without cluster = true the shared document is not read', async () => {
  await withCluster(async ({ repo, node, shared }) => {
    await writeFile(node, xml({ fileRepo: repo, maxFileSize: '1M' }));
    await writeFile(shared, xml({ maxFileSize: '2M' }));
    const layers = await loadLayers(node, { cluster: clusterLayers });
    assert.deepEqual(
      layers.map((l) => l.source),
      ['serverspecific', 'general', 'default'],
    );
    assert.equal((await loadSettings(node, { cluster: clusterLayers })).maxFileSize, 1024 * 1024);
    assert.equal(clusterStoreOf(layers), undefined);
  });
});

test('a missing shared document is an empty layer; a malformed one is an error naming it', async () => {
  await withCluster(async ({ repo, node, shared }) => {
    await writeFile(node, xml({ fileRepo: repo, cluster: 'true' }));
    assert.equal((await loadSettings(node, { cluster: clusterLayers })).maxFileSize, 52428800);
    await writeFile(shared, '<jive><plugin>\n<oops></plugin></jive>');
    await assert.rejects(
      loadLayers(node, { cluster: clusterLayers }),
      (err: unknown) => err instanceof ConfigSyntaxError && err.file === shared && err.line === 2,
    );
  });
});

test('a value marked encrypted in the shared document is an invalid value naming it, never its ciphertext', async () => {
  await withCluster(async ({ repo, node, shared }) => {
    await writeFile(node, xml({ fileRepo: repo, cluster: 'true' }));
    await writeFile(
      shared,
      '<jive><plugin><httpfileupload><xmppHost encrypted="true">0a1b</xmppHost></httpfileupload></plugin></jive>',
    );
    await assert.rejects(loadSettings(node, { cluster: clusterLayers }), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.property, 'plugin.httpfileupload.xmppHost');
      assert.match(err.message, new RegExp(`is encrypted in ${shared}, where no key applies; set it again in clear`));
      return true;
    });
  });
});

test('cluster = true without fileRepo is a configuration error naming cluster', async () => {
  await withCluster(async ({ node }) => {
    await writeFile(node, xml({ cluster: 'true' }));
    const layers = await loadLayers(node, { cluster: clusterLayers });
    assert.equal(clusterOf(layers).enabled, true);
    assert.throws(
      () => settingsFromLayers(layers),
      (err: unknown) => err instanceof ConfigError && err.property === catalogue.cluster.name,
    );
  });
});

test('writes go to the shared document on a cluster node, to the node file with --local, --server-specific or for bootstrap properties', async () => {
  await withCluster(async ({ repo, node, shared }) => {
    await writeFile(node, xml({ fileRepo: repo, cluster: 'true' }));
    const layers = await loadLayers(node, { cluster: clusterLayers });
    const general = writeTarget(node, layers, catalogue.maxFileSize, { serverSpecific: false, local: false });
    assert.deepEqual(
      [general.layer, general.location, general.name],
      ['cluster', shared, 'plugin.httpfileupload.maxFileSize'],
    );
    await general.set('7M');
    assert.equal(
      readProperty(parseOpenfireXml(await readFile(shared, 'utf8')), 'plugin.httpfileupload.maxFileSize'),
      '7M',
    );
    assert.equal(
      readProperty(parseOpenfireXml(await readFile(node, 'utf8')), 'plugin.httpfileupload.maxFileSize'),
      undefined,
    );

    const local = writeTarget(node, layers, catalogue.maxFileSize, { serverSpecific: false, local: true });
    assert.deepEqual([local.layer, local.location], ['general', node]);
    const specific = writeTarget(node, layers, catalogue.maxFileSize, { serverSpecific: true, local: false });
    assert.deepEqual(
      [specific.layer, specific.location, specific.name],
      ['serverspecific', node, 'plugin.httpfileupload.serverspecific.maxFileSize'],
    );
    const bootstrap = writeTarget(node, layers, catalogue.nodeName, { serverSpecific: false, local: false });
    assert.deepEqual([bootstrap.layer, bootstrap.location], ['general', node]);

    assert.equal(await general.unset(), true);
    assert.equal(await general.unset(), false);
  });
});

test('a cluster node without its shared place refuses a cluster write instead of writing locally', async () => {
  await withCluster(async ({ node }) => {
    await writeFile(node, xml({ cluster: 'true' }));
    const layers = await loadLayers(node, { cluster: clusterLayers });
    assert.throws(
      () => writeTarget(node, layers, catalogue.maxFileSize, { serverSpecific: false, local: false }),
      (err: unknown) => err instanceof ClusterTargetError && /fileRepo.*--local/.test(err.message),
    );
    assert.equal(
      writeTarget(node, layers, catalogue.maxFileSize, { serverSpecific: false, local: true }).layer,
      'general',
    );
  });
});

test('a change that would leave cluster mode without its shared place is named; one that keeps or fixes it is not', () => {
  const node = (general: Record<string, string>, specific: Record<string, string> = {}) => [
    mapLayer('serverspecific', specific),
    mapLayer('general', general),
    defaultsLayer(),
  ];
  const after = (
    layers: ReturnType<typeof node>,
    layer: string,
    short: 'cluster' | 'fileRepo' | 'storage',
    text?: string,
  ) => clusterPreconditionAfter(layers, { layer, short, text });
  // cluster true before the shared place: refused, naming fileRepo (or the bucket for storage s3).
  assert.match(
    after(node({}), 'general', 'cluster', 'TRUE') ?? '',
    /cluster = true needs the shared place first: set plugin\.httpfileupload\.fileRepo/,
  );
  assert.match(after(node({}), 'serverspecific', 'cluster', 'true') ?? '', /fileRepo/);
  assert.match(
    after(node({ storage: 's3' }), 'general', 'cluster', 'true') ?? '',
    /set plugin\.httpfileupload\.s3Bucket/,
  );
  // Taking the place away from a cluster node: refused.
  assert.match(
    after(node({ cluster: 'true', fileRepo: '/srv/up' }), 'general', 'fileRepo') ?? '',
    /leaves it without a shared place/,
  );
  assert.match(after(node({ cluster: 'true', fileRepo: '/srv/up' }), 'general', 'storage', 's3') ?? '', /s3Bucket/);
  // Fine: the place is there, cluster goes off, or the node had no place before either.
  assert.equal(after(node({ fileRepo: '/srv/up' }), 'general', 'cluster', 'true'), undefined);
  assert.equal(after(node({ storage: 's3', s3Bucket: 'uploads' }), 'general', 'cluster', 'true'), undefined);
  assert.equal(after(node({ cluster: 'true', fileRepo: '/srv/up' }), 'general', 'cluster', 'false'), undefined);
  assert.equal(after(node({ cluster: 'true' }), 'general', 'fileRepo', '/srv/up'), undefined);
  assert.equal(after(node({ cluster: 'true' }), 'general', 'storage', 's3'), undefined);
});

test('the first cluster node to start generates slotSecret into the shared document; the others read it', async () => {
  await withCluster(async ({ dir, repo, shared }) => {
    const nodes = [0, 1, 2, 3].map((i) => join(dir, `node${i}.xml`));
    for (const n of nodes) await writeFile(n, xml({ fileRepo: repo, cluster: 'true' }));
    const secrets = await Promise.all(nodes.map((n) => ensureSlotSecret(n, { cluster: clusterLayers })));
    assert.equal(new Set(secrets).size, 1, 'every node got the same secret');
    assert.equal(
      readProperty(parseOpenfireXml(await readFile(shared, 'utf8')), 'plugin.httpfileupload.slotSecret'),
      secrets[0],
    );
    for (const n of nodes) {
      assert.equal(
        readProperty(parseOpenfireXml(await readFile(n, 'utf8')), 'plugin.httpfileupload.slotSecret'),
        undefined,
      );
      assert.equal((await loadSettings(n, { cluster: clusterLayers })).slotSecret, secrets[0]);
    }
  });
});
