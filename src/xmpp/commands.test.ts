import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  createCommands,
  MAX_SESSIONS,
  SESSION_TIMEOUT,
  SESSIONS_PER_JID,
  uploadLine,
  type CommandAnswer,
  type CommandOperations,
  type CommandUpload,
} from './commands.ts';
import { parseXml, xml, type Element } from './xml.ts';
import { NS_COMMANDS, NS_DATA_FORMS } from './namespaces.ts';
import { booleanValue, submittedValues } from './data-form.ts';

const ALICE = 'alice@example.org/phone';
const ADMIN = 'admin@example.org/desk';

/** Operations over an in-memory list of uploads: { owner → uploads, newest first }. */
function memory(uploads: Record<string, CommandUpload[]>) {
  const removed: { user: string; ids: readonly string[] | 'all' }[] = [];
  const takenDown: { target: string; by: string; note: string | undefined }[] = [];
  const ops: CommandOperations = {
    takeDown: (target, by, note) => {
      takenDown.push({ target, by, note });
      if (target === 'not a url') return Promise.resolve({ kind: 'not-a-target' });
      if (target.endsWith('/gone/x.jpg')) return Promise.resolve({ kind: 'no-such-upload', message: 'no upload gone' });
      return Promise.resolve({
        kind: 'done',
        sha256: 'ab'.repeat(32),
        added: true,
        removed: [
          { id: 'id1', size: 100 },
          { id: 'id7', size: 100 },
        ],
        failed: [],
      });
    },
    userUploads: (user, offset, limit) => {
      const all = uploads[user] ?? [];
      return Promise.resolve({
        uploads: all.slice(offset, offset + limit),
        total: all.length,
        bytes: all.reduce((s, u) => s + u.size, 0),
      });
    },
    quotaUse: () =>
      Promise.resolve({ stored: { bytes: 0, files: 0, limit: undefined }, daily: { bytes: 0, limit: 1000 } }),
    removeUploads: (user, ids) => {
      removed.push({ user, ids });
      const all = uploads[user] ?? [];
      const gone = ids === 'all' ? all : all.filter((u) => ids.includes(u.id));
      const missing = ids === 'all' ? [] : ids.filter((id) => !all.some((u) => u.id === id));
      uploads[user] = all.filter((u) => !gone.includes(u));
      return Promise.resolve({ removed: gone.map((u) => ({ id: u.id, size: u.size })), missing });
    },
    statistics: () =>
      Promise.resolve({
        uploads: 3,
        bytes: 3000,
        pendingBytes: 0,
        topUploaders: [{ jid: 'alice@example.org', uploads: 3, bytes: 3000 }],
        quotas: { user: undefined, daily: 1000, global: undefined },
      }),
  };
  return { ops, removed, takenDown };
}

const upload = (i: number): CommandUpload => ({
  id: `id${i}`,
  filename: `file${i}.txt`,
  size: 100 * i,
  storedAt: Date.UTC(2030, 0, 1, 0, i),
  purpose: 'message',
  expires: null,
});

function setup(uploads: Record<string, CommandUpload[]> = {}, options: { pageSize?: number; now?: () => number } = {}) {
  const { ops, removed, takenDown } = memory(uploads);
  const commands = createCommands({
    operations: ops,
    domain: () => 'upload.example.org',
    mayUpload: (_bare, domain) => domain === 'example.org',
    adminJids: () => ['Admin@Example.org'],
    ...options,
  });
  return { commands, removed, takenDown };
}

function command(
  node: string,
  attrs: Record<string, string> = {},
  values?: Record<string, string | string[]>,
  formType = 'submit',
): Element {
  const form =
    values === undefined
      ? undefined
      : xml(
          'x',
          { xmlns: NS_DATA_FORMS, type: formType },
          ...Object.entries(values).map(([k, v]) =>
            xml('field', { var: k }, ...(Array.isArray(v) ? v : [v]).map((x) => xml('value', {}, x))),
          ),
        );
  return xml('command', { xmlns: NS_COMMANDS, node, ...attrs }, form);
}

function result(a: CommandAnswer): Element {
  assert.equal(a.type, 'result', a.type === 'error' ? a.error.toString() : '');
  return (a as { payload: Element }).payload;
}
function condition(a: CommandAnswer): [string, string | undefined] {
  assert.equal(a.type, 'error');
  const error = (a as { error: Element }).error;
  const children = error.getChildElements();
  return [children[0]!.getName(), children.find((c) => c.getNS() === NS_COMMANDS)?.getName()];
}
const fields = (c: Element): Element[] => c.getChild('x', NS_DATA_FORMS)?.getChildren('field') ?? [];
const fieldValues = (c: Element, name: string): string[] =>
  fields(c)
    .find((f) => f.attrs.var === name)
    ?.getChildren('value')
    .map((v) => v.getText()) ?? [];
const actions = (c: Element): string[] =>
  c
    .getChild('actions')
    ?.getChildElements()
    .map((a) => a.getName()) ?? [];

describe('ad-hoc commands', () => {
  it('lists three commands to users, seven to admins, none to strangers', () => {
    const { commands } = setup();
    const nodes = (from: string | undefined) =>
      commands
        .items(from)
        .getChildren('item')
        .map((i) => i.attrs.node as string);
    assert.deepEqual(nodes(ALICE), ['my-uploads', 'delete-uploads', 'delete-all-my-uploads']);
    assert.deepEqual(nodes(ADMIN), [
      'my-uploads',
      'delete-uploads',
      'delete-all-my-uploads',
      'user-uploads',
      'delete-user-uploads',
      'statistics',
      'take-down',
    ]);
    assert.deepEqual(nodes('mallory@elsewhere.org/x'), []);
    assert.equal(commands.items(ALICE).getChildren('item')[0]?.attrs.jid, 'upload.example.org');
    assert.equal(commands.info('statistics')?.getChild('identity')?.attrs.type, 'command-node');
    assert.equal(commands.info('nope'), undefined);
  });

  it('answers item-not-found, forbidden and malformed-action as XEP-0050 says', async () => {
    const { commands } = setup();
    assert.deepEqual(condition(await commands.execute(command('nope'), ALICE)), ['item-not-found', undefined]);
    assert.deepEqual(condition(await commands.execute(command('statistics'), ALICE)), ['forbidden', undefined]);
    assert.deepEqual(condition(await commands.execute(command('my-uploads'), 'mallory@elsewhere.org/x')), [
      'forbidden',
      undefined,
    ]);
    assert.deepEqual(condition(await commands.execute(command('my-uploads', { action: 'jump' }), ALICE)), [
      'bad-request',
      'malformed-action',
    ]);
    assert.deepEqual(condition(await commands.execute(command('my-uploads', { action: 'next' }), ALICE)), [
      'bad-request',
      'bad-action',
    ]);
  });

  it('My uploads: one page per step, next and prev, complete ends it', async () => {
    const five = [5, 4, 3, 2, 1].map(upload);
    const { commands } = setup({ 'alice@example.org': five }, { pageSize: 2 });
    const first = result(await commands.execute(command('my-uploads'), ALICE));
    assert.equal(first.attrs.status, 'executing');
    assert.deepEqual(actions(first), ['next', 'complete']);
    assert.equal(first.getChild('actions')?.attrs.execute, 'next');
    assert.deepEqual(fieldValues(first, 'upload-0'), [uploadLine(five[0]!)]);
    assert.deepEqual(fieldValues(first, 'upload-1'), [uploadLine(five[1]!)]);
    assert.deepEqual(fieldValues(first, 'upload-2'), []);
    assert.deepEqual(fieldValues(first, 'page'), ['1 of 3']);
    const sessionid = first.attrs.sessionid as string;
    const second = result(await commands.execute(command('my-uploads', { sessionid, action: 'next' }), ALICE));
    assert.deepEqual(actions(second), ['prev', 'next', 'complete']);
    assert.deepEqual(fieldValues(second, 'upload-0'), [uploadLine(five[2]!)]);
    const third = result(await commands.execute(command('my-uploads', { sessionid, action: 'next' }), ALICE));
    assert.deepEqual(actions(third), ['prev', 'complete']);
    assert.deepEqual(fieldValues(third, 'upload-0'), [uploadLine(five[4]!)]);
    assert.deepEqual(condition(await commands.execute(command('my-uploads', { sessionid, action: 'next' }), ALICE)), [
      'bad-request',
      'bad-action',
    ]);
    assert.equal(commands.sessions, 0, 'an error ends the session');
    const again = result(await commands.execute(command('my-uploads'), ALICE));
    const done = result(
      await commands.execute(
        command('my-uploads', { sessionid: again.attrs.sessionid as string, action: 'complete' }),
        ALICE,
      ),
    );
    assert.equal(done.attrs.status, 'completed');
    assert.equal(commands.sessions, 0);
  });

  it('My uploads of one page completes at once with a result form', async () => {
    const { commands } = setup({ 'alice@example.org': [upload(1)] });
    const c = result(await commands.execute(command('my-uploads'), ALICE));
    assert.equal(c.attrs.status, 'completed');
    assert.equal(c.getChild('x', NS_DATA_FORMS)?.attrs.type, 'result');
    assert.deepEqual(fieldValues(c, 'summary'), ['1 upload, 100 B']);
  });

  it('Delete uploads keeps the choices of every page and removes them once confirmed', async () => {
    const { commands, removed } = setup({ 'alice@example.org': [4, 3, 2, 1].map(upload) }, { pageSize: 2 });
    const first = result(await commands.execute(command('delete-uploads'), ALICE));
    const sessionid = first.attrs.sessionid as string;
    const offered = fields(first)
      .find((f) => f.attrs.var === 'uploads')!
      .getChildren('option')
      .map((o) => o.getChildText('value'));
    assert.deepEqual(offered, ['id4', 'id3']);
    await commands.execute(command('delete-uploads', { sessionid, action: 'next' }, { uploads: ['id3'] }), ALICE);
    const back = result(
      await commands.execute(command('delete-uploads', { sessionid, action: 'prev' }, { uploads: ['id1'] }), ALICE),
    );
    assert.deepEqual(fieldValues(back, 'uploads'), ['id3'], 'the choice of a page is shown again');
    const done = result(
      await commands.execute(
        command('delete-uploads', { sessionid, action: 'complete' }, { uploads: ['id3', 'id4'], confirm: 'true' }),
        ALICE,
      ),
    );
    assert.equal(done.attrs.status, 'completed');
    assert.equal(done.getChildText('note'), 'Deleted 3 uploads (800 B).');
    assert.deepEqual(removed, [{ user: 'alice@example.org', ids: ['id1', 'id3', 'id4'] }]);
  });

  it('Delete uploads: a value not offered is item-not-found; a malformed form bad-payload; no confirmation deletes nothing', async () => {
    const { commands, removed } = setup({ 'alice@example.org': [upload(1)], 'carol@example.org': [upload(9)] });
    const start = async () =>
      result(await commands.execute(command('delete-uploads'), ALICE)).attrs.sessionid as string;
    let sessionid = await start();
    assert.deepEqual(
      condition(
        await commands.execute(
          command('delete-uploads', { sessionid, action: 'complete' }, { uploads: ['id9'], confirm: '1' }),
          ALICE,
        ),
      ),
      ['item-not-found', undefined],
    );
    sessionid = await start();
    assert.deepEqual(
      condition(
        await commands.execute(
          command('delete-uploads', { sessionid, action: 'complete' }, { uploads: ['id1'] }, 'form'),
          ALICE,
        ),
      ),
      ['bad-request', 'bad-payload'],
    );
    sessionid = await start();
    assert.deepEqual(
      condition(
        await commands.execute(
          command('delete-uploads', { sessionid, action: 'complete' }, { uploads: ['id1'], confirm: 'maybe' }),
          ALICE,
        ),
      ),
      ['bad-request', 'bad-payload'],
    );
    sessionid = await start();
    const declined = result(
      await commands.execute(command('delete-uploads', { sessionid, action: 'complete' }, { uploads: ['id1'] }), ALICE),
    );
    assert.equal(declined.getChildText('note'), 'Nothing was deleted.');
    assert.deepEqual(removed, []);
  });

  it('Delete all uploads of a user: an admin names a bare JID, confirms, and everything of it goes', async () => {
    const { commands, removed } = setup({ 'carol@example.org': [upload(1), upload(2)] });
    const first = result(await commands.execute(command('delete-user-uploads'), ADMIN));
    const sessionid = first.attrs.sessionid as string;
    assert.equal(fields(first)[0]?.attrs.type, 'jid-single');
    assert.deepEqual(
      condition(
        await commands.execute(
          command('delete-user-uploads', { sessionid, action: 'next' }, { jid: 'carol@example.org/x' }),
          ADMIN,
        ),
      ),
      ['bad-request', 'bad-payload'],
    );
    const again = result(await commands.execute(command('delete-user-uploads'), ADMIN)).attrs.sessionid as string;
    const confirm = result(
      await commands.execute(
        command('delete-user-uploads', { sessionid: again, action: 'next' }, { jid: 'Carol@Example.org' }),
        ADMIN,
      ),
    );
    assert.deepEqual(fieldValues(confirm, 'summary'), ['carol@example.org has 2 uploads stored (300 B).']);
    const done = result(
      await commands.execute(
        command('delete-user-uploads', { sessionid: again, action: 'complete' }, { confirm: '1' }),
        ADMIN,
      ),
    );
    assert.equal(done.attrs.status, 'completed');
    assert.deepEqual(removed, [{ user: 'carol@example.org', ids: 'all' }]);
  });

  it('Take down by URL: confirmed, it names the hash and what went; otherwise nothing happens', async () => {
    const { commands, takenDown } = setup();
    assert.deepEqual(condition(await commands.execute(command('take-down'), ALICE)), ['forbidden', undefined]);
    const step = async (values: Record<string, string>) => {
      const first = result(await commands.execute(command('take-down'), ADMIN));
      assert.deepEqual(
        fields(first).map((f) => f.attrs.var),
        ['url', 'note', 'confirm'],
      );
      return commands.execute(
        command('take-down', { sessionid: first.attrs.sessionid as string, action: 'complete' }, values),
        ADMIN,
      );
    };
    const url = 'https://upload.example.org/id1/cat.jpg';
    const unconfirmed = result(await step({ url, confirm: 'false' }));
    assert.equal(unconfirmed.getChild('note')?.getText(), 'Nothing was taken down.');
    assert.deepEqual(takenDown, []);
    const done = result(await step({ url, note: 'court order 17', confirm: 'true' }));
    assert.equal(done.attrs.status, 'completed');
    assert.equal(
      done.getChild('note')?.getText(),
      `Taken down: 2 uploads deleted (200 B); sha256 ${'ab'.repeat(32)} is now blocked.`,
    );
    assert.deepEqual(takenDown, [{ target: url, by: 'xmpp:admin@example.org', note: 'court order 17' }]);
    assert.deepEqual(condition(await step({ url: 'not a url', confirm: '1' })), ['bad-request', 'bad-payload']);
    assert.deepEqual(condition(await step({ url: '', confirm: '1' })), ['bad-request', 'bad-payload']);
    assert.deepEqual(condition(await step({ url: 'https://upload.example.org/gone/x.jpg', confirm: '1' })), [
      'item-not-found',
      undefined,
    ]);
  });

  it('Statistics shows the figures in fixed fields', async () => {
    const { commands } = setup();
    const c = result(await commands.execute(command('statistics'), ADMIN));
    assert.equal(c.attrs.status, 'completed');
    assert.deepEqual(fieldValues(c, 'uploads'), ['3']);
    assert.deepEqual(fieldValues(c, 'disk'), ['unknown']);
    assert.match(fieldValues(c, 'top-0')[0]!, /^alice@example\.org — 3 uploads, /);
  });

  it('a session belongs to the full JID that started it and ends after SESSION_TIMEOUT or cancel', async () => {
    let now = 1_000_000;
    const { commands } = setup({ 'alice@example.org': [upload(1), upload(2)] }, { pageSize: 1, now: () => now });
    const sessionid = result(await commands.execute(command('my-uploads'), ALICE)).attrs.sessionid as string;
    assert.deepEqual(
      condition(
        await commands.execute(command('my-uploads', { sessionid, action: 'next' }), 'alice@example.org/laptop'),
      ),
      ['not-allowed', 'session-expired'],
    );
    now += SESSION_TIMEOUT;
    assert.deepEqual(condition(await commands.execute(command('my-uploads', { sessionid, action: 'next' }), ALICE)), [
      'not-allowed',
      'session-expired',
    ]);
    const other = result(await commands.execute(command('my-uploads'), ALICE)).attrs.sessionid as string;
    const canceled = result(
      await commands.execute(command('my-uploads', { sessionid: other, action: 'cancel' }), ALICE),
    );
    assert.equal(canceled.attrs.status, 'canceled');
    assert.equal(commands.sessions, 0);
  });

  it('sessions are bounded per JID (the oldest ends) and overall (new ones are refused)', async () => {
    const uploads: Record<string, CommandUpload[]> = {};
    for (let i = 0; i < MAX_SESSIONS + 1; i++) uploads[`u${i}@example.org`] = [upload(1), upload(2)];
    uploads['alice@example.org'] = [upload(1), upload(2)];
    const { commands } = setup(uploads, { pageSize: 1 });
    const ids: string[] = [];
    for (let i = 0; i < SESSIONS_PER_JID + 1; i++)
      ids.push(result(await commands.execute(command('my-uploads'), ALICE)).attrs.sessionid as string);
    assert.equal(commands.sessions, SESSIONS_PER_JID);
    assert.deepEqual(
      condition(await commands.execute(command('my-uploads', { sessionid: ids[0]!, action: 'next' }), ALICE)),
      ['not-allowed', 'session-expired'],
    );
    for (let i = 0; commands.sessions < MAX_SESSIONS; i++)
      await commands.execute(command('my-uploads'), `u${i}@example.org/r`);
    const refused = await commands.execute(command('my-uploads'), `u${MAX_SESSIONS}@example.org/r`);
    assert.deepEqual(condition(refused), ['resource-constraint', undefined]);
    assert.equal(commands.sessions, MAX_SESSIONS);
  });
});

describe('data forms', () => {
  it('reads a submitted form; anything but a submission is malformed', () => {
    const values = submittedValues(
      parseXml(
        `<command xmlns='${NS_COMMANDS}'><x xmlns='${NS_DATA_FORMS}' type='submit'><field var='a'><value>1</value><value>2</value></field><field var='b'/></x></command>`,
      ),
    );
    assert.deepEqual(
      values,
      new Map([
        ['a', ['1', '2']],
        ['b', []],
      ]),
    );
    assert.equal(submittedValues(parseXml(`<command xmlns='${NS_COMMANDS}'/>`)), undefined);
    assert.equal(
      submittedValues(parseXml(`<command xmlns='${NS_COMMANDS}'><x xmlns='${NS_DATA_FORMS}' type='form'/></command>`)),
      'malformed',
    );
    assert.equal(
      submittedValues(
        parseXml(
          `<command xmlns='${NS_COMMANDS}'><x xmlns='${NS_DATA_FORMS}' type='submit'><field var='a'/><field var='a'/></x></command>`,
        ),
      ),
      'malformed',
    );
  });

  it('reads booleans as XEP-0004 writes them', () => {
    assert.equal(booleanValue(['1']), true);
    assert.equal(booleanValue(['true']), true);
    assert.equal(booleanValue(['0']), false);
    assert.equal(booleanValue(['false']), false);
    assert.equal(booleanValue(undefined), undefined);
    assert.equal(booleanValue(['yes']), 'malformed');
  });
});
