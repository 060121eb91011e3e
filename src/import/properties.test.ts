import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyProperties, planProperties, pluginFileRepo } from './properties.ts';

const src = (entries: Record<string, string>, from = 'embedded-db') =>
  new Map(Object.entries(entries).map(([k, value]) => [k, { value, from }]));

test('the plugin’s properties are planned under fileupload’s names, layer kept, aliases resolved', () => {
  const { planned, notes } = planProperties({
    properties: src({
      'plugin.httpfileupload.maxFileSize': '0',
      'plugin.httpfileupload.serverspecific.webContextRoot': '/upload',
      'plugin.httpfileupload.serverspecific.wildcardCORS': 'true',
      'plugin.httpfileupload.madeUp': 'x',
      'plugin.httpfileupload.webPort': 'not a port',
      'plugin.httpfileupload.announcedWebHost': '',
    }),
    fqdn: 'xmpp.example.org',
    openfire: new Map([
      ['xmpp.domain', 'example.org'],
      ['httpbind.port.secure', '7443'],
    ]),
  });
  assert.deepEqual(
    planned.map((p) => [p.name, p.value]),
    [
      ['plugin.httpfileupload.maxFileSize', '0'],
      ['plugin.httpfileupload.serverspecific.announcedWebContextRoot', '/upload'],
      ['fqdn', 'xmpp.example.org'],
      ['plugin.httpfileupload.domain', 'httpfileupload.example.org'],
      ['plugin.httpfileupload.announcedWebPort', '7443'],
    ],
  );
  const noted = Object.fromEntries(notes.map((n) => [n.from, n.text]));
  assert.match(
    noted['plugin.httpfileupload.serverspecific.wildcardCORS (embedded-db)']!,
    /does not read it .*corsOrigins/,
  );
  assert.match(noted['plugin.httpfileupload.madeUp (embedded-db)']!, /not a property/);
  assert.match(noted['plugin.httpfileupload.webPort (embedded-db)']!, /^not written: /);
  assert.match(noted['plugin.httpfileupload.announcedWebHost (embedded-db)']!, /empty/);
});

test('a property’s own name wins over its alias, whichever comes first', () => {
  for (const order of [
    ['webContextRoot', 'announcedWebContextRoot'],
    ['announcedWebContextRoot', 'webContextRoot'],
  ]) {
    const props = new Map(
      order.map((n) => [`plugin.httpfileupload.${n}`, { value: `/${n}`, from: 'openfire.xml' }] as const),
    );
    const { planned, notes } = planProperties({ properties: props, fqdn: undefined, openfire: new Map() });
    assert.deepEqual(
      planned.map((p) => [p.name, p.value]),
      [
        ['plugin.httpfileupload.announcedWebContextRoot', '/announcedWebContextRoot'],
        ['plugin.httpfileupload.announcedWebPort', '7443'],
      ],
    );
    assert.equal(notes.length, 1);
    assert.match(notes[0]!.from, /webContextRoot/);
  }
});

test('the announced port is the HTTP-bind port the plugin announced, Openfire’s default included', () => {
  const { planned } = planProperties({
    properties: src({ 'plugin.httpfileupload.announcedWebProtocol': 'http' }),
    fqdn: undefined,
    openfire: new Map([
      ['httpbind.port.plain', '7080'],
      ['httpbind.port.secure', '7443'],
    ]),
  });
  assert.equal(planned.find((p) => p.name.endsWith('announcedWebPort'))?.value, '7080');
  const port = (openfire: Map<string, string>, protocol?: string) =>
    planProperties({
      properties: src(protocol ? { 'plugin.httpfileupload.announcedWebProtocol': protocol } : {}),
      fqdn: undefined,
      openfire,
    }).planned.find((p) => p.name.endsWith('announcedWebPort'))?.value;
  assert.equal(port(new Map()), '7443', 'Openfire’s default is written too');
  assert.equal(port(new Map(), 'http'), '7070');
  assert.equal(
    port(new Map(), undefined),
    port(new Map([['httpbind.port.plain', '1']])),
    'the plain port does not matter for https',
  );
  assert.equal(
    planProperties({
      properties: src({ 'plugin.httpfileupload.serverspecific.announcedWebPort': '443' }),
      fqdn: undefined,
      openfire: new Map([['httpbind.port.secure', '7445']]),
    }).planned.filter((p) => p.name.endsWith('announcedWebPort')).length,
    1,
    'the plugin’s own value, when it has one, is the only one',
  );
});

test('the plugin’s repository is its serverspecific fileRepo, else the general one', () => {
  assert.equal(
    pluginFileRepo({
      properties: src({
        'plugin.httpfileupload.fileRepo': '/a',
        'plugin.httpfileupload.serverspecific.fileRepo': ' /b ',
      }),
    }),
    '/b',
  );
  assert.equal(pluginFileRepo({ properties: src({ 'plugin.httpfileupload.fileRepo': '/a' }) }), '/a');
  assert.equal(pluginFileRepo({ properties: src({}) }), undefined);
});

test('applying never overwrites what the file sets, creates it 0600, and a dry run writes nothing', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'import-props-'));
  try {
    const file = join(dir, 'openfire.xml');
    const planned = [
      { name: 'plugin.httpfileupload.maxFileSize', value: '0', from: 'x', secret: false },
      { name: 'fqdn', value: 'xmpp.example.org', from: 'y', secret: false },
    ];
    const dry = await applyProperties(file, planned, { dryRun: true });
    assert.deepEqual(
      dry.map((o) => o.action),
      ['set', 'set'],
    );
    await assert.rejects(stat(file), { code: 'ENOENT' });

    await writeFile(
      file,
      '<jive><plugin><httpfileupload><maxFileSize>10M</maxFileSize></httpfileupload></plugin></jive>\n',
    );
    const first = await applyProperties(file, planned, { dryRun: false });
    assert.deepEqual(
      first.map((o) => [o.action, o.current]),
      [
        ['kept', '10M'],
        ['set', undefined],
      ],
    );
    assert.match(await readFile(file, 'utf8'), /<maxFileSize>10M<\/maxFileSize>/);
    assert.match(await readFile(file, 'utf8'), /<fqdn>xmpp\.example\.org<\/fqdn>/);
    const again = await applyProperties(file, planned, { dryRun: false });
    assert.deepEqual(
      again.map((o) => o.action),
      ['kept', 'unchanged'],
    );

    const other = await applyProperties(
      file,
      [{ name: 'plugin.httpfileupload.serverspecific.maxFileSize', value: '5M', from: 'z', secret: false }],
      { dryRun: false },
    );
    assert.equal(other[0]!.action, 'kept', 'a value in the other layer is the admin’s too');
    assert.doesNotMatch(await readFile(file, 'utf8'), /serverspecific/);
    await writeFile(
      file,
      '<jive><plugin><httpfileupload><webContextRoot>/up</webContextRoot></httpfileupload></plugin></jive>\n',
    );
    const aliased = await applyProperties(
      file,
      [{ name: 'plugin.httpfileupload.announcedWebContextRoot', value: '/httpfileupload', from: 'z', secret: false }],
      { dryRun: false },
    );
    assert.deepEqual([aliased[0]!.action, aliased[0]!.current], ['kept', '/up'], 'and under an alias');

    const fresh = join(dir, 'new.xml');
    await applyProperties(fresh, planned, { dryRun: false });
    assert.equal((await stat(fresh)).mode & 0o777, 0o600);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
