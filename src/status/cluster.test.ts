/**
 * The component holder in the live status, its text line and its metrics (src/status), as a
 * cluster node and as a single node.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LiveState } from './live.ts';
import { clusterText, formatSnapshotText } from './format.ts';
import { createMetricsRegistry } from './metrics.ts';
import { sample } from '../../test/support/prometheus.ts';

const at = 1_700_000_000_000;

test('a cluster node reports the holder in /status, the text view and the metrics', async () => {
  let now = at;
  const live = new LiveState({ node: 'node1', now: () => now });
  const registry = createMetricsRegistry(live, { processMetrics: false });
  live.componentHolder({ holder: 'node2', holding: false, since: at });
  now += 90_000;
  assert.deepEqual(live.snapshot().cluster, { holder: 'node2', holding: false, holderSince: at });
  assert.match(
    formatSnapshotText(live.snapshot()),
    /^cluster: component held by node2 for 1m ?30s \(this node node1 stands by\)$/m,
  );
  let metrics = await registry.metrics();
  assert.equal(sample(metrics, 'fileupload_component_holder', { node: 'node2' }), 1);
  assert.equal(sample(metrics, 'fileupload_component_holding'), 0);

  live.componentHolder({ holder: 'node1', holding: true, since: now });
  assert.match(clusterText(live.snapshot()), /^cluster: component held by this node \(node1\)/);
  metrics = await registry.metrics();
  assert.equal(sample(metrics, 'fileupload_component_holder', { node: 'node1' }), 1);
  assert.equal(sample(metrics, 'fileupload_component_holder', { node: 'node2' }), undefined);
  assert.equal(sample(metrics, 'fileupload_component_holding'), 1);

  live.componentHolder({ holder: null, holding: false, since: null });
  assert.match(clusterText(live.snapshot()), /held by nobody at the moment/);
  assert.doesNotMatch(await registry.metrics(), /^fileupload_component_holder\{/m);
});

test('a single node has no cluster figures; it holds the component while online', async () => {
  const live = new LiveState({ node: 'solo' });
  const registry = createMetricsRegistry(live, { processMetrics: false });
  assert.equal(live.snapshot().cluster, null);
  assert.doesNotMatch(formatSnapshotText(live.snapshot()), /^cluster:/m);
  assert.equal(sample(await registry.metrics(), 'fileupload_component_holding'), 0);
  live.xmppState('online');
  const metrics = await registry.metrics();
  assert.equal(sample(metrics, 'fileupload_component_holding'), 1);
  assert.equal(sample(metrics, 'fileupload_component_holder', { node: 'solo' }), 1);
});
