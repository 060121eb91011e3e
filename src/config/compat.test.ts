import { test } from 'node:test';
import assert from 'node:assert/strict';
import { catalogue } from './catalogue.ts';
import { compatibilityNotes, FOREIGN_NAMES, notReadNote, propertyFor, unreadOption } from './compat.ts';
import { parseOpenfireXml } from './openfire-xml.ts';

const doc = (xml: string) => parseOpenfireXml(`<jive><plugin><httpfileupload>${xml}</httpfileupload></plugin></jive>`);

test('every property of the Openfire plugin and every option of the component library is in the table', () => {
  const names = (from: string) => FOREIGN_NAMES.filter((f) => f.from === from).map((f) => f.name);
  // HttpFileUploadPlugin.java (openfire-httpFileUpload-plugin 1.5): its SystemProperty keys.
  assert.deepEqual(names('plugin'), [
    'announcedWebProtocol',
    'announcedWebHost',
    'announcedWebPort',
    'announcedWebContextRoot',
    'maxFileSize',
    'fileRepo',
    'clamavEnabled',
    'clamavHost',
    'clamavPort',
    'clamavConnectionTimeout',
  ]);
  // Launcher.java (httpfileuploadcomponent 2.0.1): its long options, less --help.
  assert.deepEqual(
    names('component').sort(),
    [
      'webProtocol',
      'webHost',
      'webPort',
      'webContextRoot',
      'announcedWebProtocol',
      'announcedWebHost',
      'announcedWebPort',
      'announcedWebContextRoot',
      'xmppHost',
      'xmppPort',
      'domain',
      'sharedSecret',
      'tempFileRepo',
      'fileRepo',
      'maxFileSize',
      'wildcardCORS',
      'contentSecurityPolicy',
      'clamavHost',
      'clamavPort',
    ].sort(),
  );
});

test('a name that is read maps to a property of the same name or to one that lists it as an alias', () => {
  for (const f of FOREIGN_NAMES) {
    const p = propertyFor(f);
    if (!f.read) {
      assert.equal(p, undefined, f.name);
      assert.notEqual(f.difference, '', `${f.name} says why it is not read`);
      continue;
    }
    // The ClamAV properties come with the scanner; until then they are plain unknown names.
    if (!p) continue;
    assert.ok(p.short === f.name || p.aliases.includes(f.name), f.name);
  }
  assert.equal(propertyFor(FOREIGN_NAMES.find((f) => f.name === 'webContextRoot')!), catalogue.announcedWebContextRoot);
  // "A property that does nothing is not in the catalogue": the options not read are no aliases.
  for (const f of FOREIGN_NAMES.filter((f) => !f.read))
    assert.ok(!Object.values(catalogue).some((p) => p.short === f.name || p.aliases.includes(f.name)), f.name);
});

test('unreadOption knows the options not read in every spelling', () => {
  for (const name of [
    'wildcardCORS',
    'plugin.httpfileupload.wildcardCORS',
    'serverspecific.wildcardCORS',
    'plugin.httpfileupload.serverspecific.wildcardCORS',
  ])
    assert.equal(unreadOption(name)?.name, 'wildcardCORS', name);
  assert.equal(unreadOption('tempFileRepo')?.name, 'tempFileRepo');
  assert.equal(unreadOption('webContextRoot'), undefined);
  assert.equal(unreadOption('maxFileSize'), undefined);
  assert.match(
    notReadNote('x.tempFileRepo', unreadOption('tempFileRepo')!),
    /^x\.tempFileRepo is an option of the component library that fileupload does not read: .*atomic rename/,
  );
});

test('notes: options not read, aliases read, aliases overridden; nothing for plain properties', () => {
  assert.deepEqual(compatibilityNotes(undefined), []);
  assert.deepEqual(compatibilityNotes(doc('<maxFileSize>0</maxFileSize><nonsense>1</nonsense>')), []);
  const notes = compatibilityNotes(
    doc(
      '<wildcardCORS>true</wildcardCORS><contentSecurityPolicy>x</contentSecurityPolicy><webContextRoot>/f</webContextRoot>' +
        '<serverspecific><webContextRoot>/n</webContextRoot><announcedWebContextRoot>/a</announcedWebContextRoot><webProtocol>https</webProtocol></serverspecific>',
    ),
  );
  assert.deepEqual(
    notes.map((n) => [n.name, n.ignored]),
    [
      ['plugin.httpfileupload.wildcardCORS', true],
      ['plugin.httpfileupload.contentSecurityPolicy', true],
      ['plugin.httpfileupload.webContextRoot', false],
      ['plugin.httpfileupload.serverspecific.webContextRoot', true],
      ['plugin.httpfileupload.serverspecific.webProtocol', true],
    ],
  );
  assert.match(
    notes[0]!.text,
    /wildcardCORS is an option of the component library that fileupload does not read: CORS follows corsOrigins/,
  );
  assert.match(notes[1]!.text, /fixed Content-Security-Policy/);
  assert.match(
    notes[2]!.text,
    /^plugin\.httpfileupload\.webContextRoot is read as plugin\.httpfileupload\.announcedWebContextRoot \(fileupload serves the path it announces/,
  );
  assert.equal(
    notes[3]!.text,
    'plugin.httpfileupload.serverspecific.webContextRoot is not read: it is an alias of plugin.httpfileupload.serverspecific.announcedWebContextRoot, which is set too and wins',
  );
  assert.match(notes[4]!.text, /webProtocol .* HTTPS when tlsCertificate and tlsKey are set/);
});
