import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultsLayer, mapLayer, Resolver } from './resolve.ts';

const defaults = defaultsLayer({ hostname: () => 'box.example.org' });

test('serverspecific beats general beats default', () => {
  const r = new Resolver([
    mapLayer('serverspecific', { fileRepo: '/srv/node1' }),
    mapLayer('general', { fileRepo: '/srv/shared', maxFileSize: '10M' }),
    defaults,
  ]);
  assert.deepEqual([r.resolve('fileRepo').text, r.resolve('fileRepo').source], ['/srv/node1', 'serverspecific']);
  assert.deepEqual([r.resolve('maxFileSize').text, r.resolve('maxFileSize').source], ['10M', 'general']);
  assert.deepEqual([r.resolve('xmppPort').text, r.resolve('xmppPort').source], ['5275', 'default']);
  assert.equal(r.defaultValue('maxFileSize'), '52428800');
  assert.equal(r.layerValue('general', 'fileRepo'), '/srv/shared');
});

test('an empty or blank value counts as unset at every level', () => {
  const r = new Resolver([
    mapLayer('serverspecific', { maxFileSize: '', xmppHost: '   ' }),
    mapLayer('general', { maxFileSize: '1K', xmppHost: '' }),
    defaults,
  ]);
  assert.deepEqual([r.resolve('maxFileSize').text, r.resolve('maxFileSize').source], ['1K', 'general']);
  assert.deepEqual([r.resolve('xmppHost').text, r.resolve('xmppHost').source], ['localhost', 'default']);
});

test('values are trimmed', () => {
  const r = new Resolver([mapLayer('general', { domain: '\n  upload.example.org\n' }), defaults]);
  assert.equal(r.resolve('domain').text, 'upload.example.org');
});

test('computed defaults follow the effective values of other properties', () => {
  const http = new Resolver([mapLayer('serverspecific', { announcedWebProtocol: 'http' }), defaults]);
  assert.equal(http.resolve('announcedWebPort').text, '7070');
  assert.equal(http.resolve('webPort').text, '7070');
  const explicit = new Resolver([
    mapLayer('general', { announcedWebProtocol: 'http', announcedWebPort: '80' }),
    defaults,
  ]);
  assert.equal(explicit.resolve('announcedWebPort').text, '80');
  assert.equal(explicit.resolve('webPort').text, '80');
  assert.equal(new Resolver([defaults]).resolve('announcedWebPort').text, '7443');
  assert.equal(new Resolver([defaults]).resolve('announcedWebHost').text, 'box.example.org');
  const dom = new Resolver([mapLayer('general', { domain: 'upload.example.org' }), defaults]);
  assert.equal(dom.resolve('allowedDomains').text, 'example.org');
  assert.equal(dom.resolve('allowedDomains').source, 'default');
});

test('any number of layers: a cluster layer between serverspecific and general', () => {
  const r = new Resolver([
    mapLayer('serverspecific', {}),
    mapLayer('cluster', { maxFileSize: '2G' }),
    mapLayer('general', { maxFileSize: '1G' }),
    defaults,
  ]);
  assert.deepEqual([r.resolve('maxFileSize').text, r.resolve('maxFileSize').source], ['2G', 'cluster']);
});

test('nothing anywhere → undefined from default', () => {
  const r = new Resolver([defaults]);
  assert.deepEqual([r.resolve('sharedSecret').text, r.resolve('sharedSecret').source], [undefined, 'default']);
});
