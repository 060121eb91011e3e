import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createIqRouter, type IqAnswer } from './iq-router.ts';
import { discoInfo } from './disco.ts';
import { parseXml, xml } from './xml.ts';

const asked: string[] = [];
const route = createIqRouter({
  discoInfo: () => discoInfo({ maxFileSize: 100 }),
  version: { name: 'fileupload', version: '9.9.9' },
  now: () => new Date('2020-01-02T03:04:05Z'),
  slotRequest: async (payload, from) => {
    asked.push(`${payload.getNS()} from ${from}`);
    return { type: 'result', payload: xml('slot', { xmlns: payload.getNS() }) };
  },
});
const get = (payload: string, to = 'upload.example.org') =>
  route({ type: 'get', from: 'a@example.org/r', to, payload: parseXml(payload) });
const show = (a: IqAnswer) =>
  a.type === 'result' ? `result ${a.payload?.toString() ?? ''}` : `error ${a.error.toString()}`;
const S = 'urn:ietf:params:xml:ns:xmpp-stanzas';
const NOT_IMPLEMENTED = `error <error type="cancel"><feature-not-implemented xmlns="${S}"/><text xmlns="${S}" xml:lang="en">Not supported by this upload service</text></error>`;

test('disco#info and disco#items', async () => {
  assert.equal(
    show(await get("<query xmlns='http://jabber.org/protocol/disco#info'/>")),
    `result ${discoInfo({ maxFileSize: 100 }).toString()}`,
  );
  assert.equal(
    show(await get("<query xmlns='http://jabber.org/protocol/disco#items'/>")),
    'result <query xmlns="http://jabber.org/protocol/disco#items"/>',
  );
});

test('disco with a node → item-not-found', async () => {
  for (const ns of ['http://jabber.org/protocol/disco#info', 'http://jabber.org/protocol/disco#items']) {
    assert.equal(
      show(await get(`<query xmlns='${ns}' node='x'/>`)),
      `error <error type="cancel"><item-not-found xmlns="${S}"/></error>`,
    );
  }
});

test('ping, version, time', async () => {
  assert.equal(show(await get("<ping xmlns='urn:xmpp:ping'/>")), 'result ');
  assert.equal(
    show(await get("<query xmlns='jabber:iq:version'/>")),
    'result <query xmlns="jabber:iq:version"><name>fileupload</name><version>9.9.9</version></query>',
  );
  assert.match(
    show(await get("<time xmlns='urn:xmpp:time'/>")),
    /^result <time xmlns="urn:xmpp:time"><tzo>[+-]\d\d:\d\d<\/tzo><utc>2020-01-02T03:04:05Z<\/utc><\/time>$/,
  );
});

test('last activity: the uptime in whole seconds', async () => {
  let clock = Date.parse('2020-01-02T03:04:05Z');
  const uptime = createIqRouter({
    discoInfo: () => discoInfo({ maxFileSize: 100 }),
    version: { name: 'fileupload', version: '9.9.9' },
    now: () => new Date(clock),
    startedAt: clock - 90_500,
    slotRequest: async () => ({ type: 'result' }),
  });
  const ask = () =>
    uptime({
      type: 'get',
      from: 'a@example.org/r',
      to: 'upload.example.org',
      payload: parseXml("<query xmlns='jabber:iq:last'/>"),
    });
  assert.equal(show(await ask()), 'result <query xmlns="jabber:iq:last" seconds="90"/>');
  clock += 10_000;
  assert.equal(show(await ask()), 'result <query xmlns="jabber:iq:last" seconds="100"/>');
});

test('slot requests in each namespace go to the slot handler with the sender', async () => {
  asked.length = 0;
  for (const ns of ['urn:xmpp:http:upload:0', 'urn:xmpp:http:upload', 'eu:siacs:conversations:http:upload']) {
    assert.equal(show(await get(`<request xmlns='${ns}' filename='a' size='1'/>`)), `result <slot xmlns="${ns}"/>`);
  }
  assert.deepEqual(asked, [
    'urn:xmpp:http:upload:0 from a@example.org/r',
    'urn:xmpp:http:upload from a@example.org/r',
    'eu:siacs:conversations:http:upload from a@example.org/r',
  ]);
});

test('anything else → cancel/feature-not-implemented', async () => {
  asked.length = 0;
  for (const payload of [
    "<query xmlns='urn:example:nothing'/>",
    "<request xmlns='urn:xmpp:http:upload:99' filename='a' size='1'/>",
    "<slot xmlns='urn:xmpp:http:upload:0'/>",
    "<ping xmlns='urn:example'/>",
    "<vCard xmlns='vcard-temp'/>",
  ]) {
    assert.equal(show(await get(payload)), NOT_IMPLEMENTED, payload);
  }
  assert.deepEqual(asked, []);
});

test('IQ set of anything → feature-not-implemented (nothing here is settable)', async () => {
  for (const payload of [
    "<request xmlns='urn:xmpp:http:upload:0' filename='a' size='1'/>",
    "<query xmlns='http://jabber.org/protocol/disco#info'/>",
  ]) {
    assert.equal(
      show(await route({ type: 'set', from: 'a@example.org/r', to: 'upload.example.org', payload: parseXml(payload) })),
      NOT_IMPLEMENTED,
    );
  }
});

test('IQs to a user at the component → service-unavailable; a resource is fine', async () => {
  assert.equal(
    show(await get("<ping xmlns='urn:xmpp:ping'/>", 'someone@upload.example.org')),
    `error <error type="cancel"><service-unavailable xmlns="${S}"/></error>`,
  );
  assert.equal(show(await get("<ping xmlns='urn:xmpp:ping'/>", 'upload.example.org/x')), 'result ');
});

test('ad-hoc commands: the commands node of disco#items, a command node of disco#info, IQ sets with <command/>', async () => {
  const calls: string[] = [];
  const withCommands = createIqRouter({
    discoInfo: () => discoInfo({ maxFileSize: 100 }),
    version: { name: 'fileupload', version: '9.9.9' },
    slotRequest: () => Promise.resolve({ type: 'result' }),
    commands: {
      items: (from) => (calls.push(`items ${from}`), xml('query', { xmlns: 'http://jabber.org/protocol/disco#items' })),
      info: (node) =>
        node === 'my-uploads' ? xml('query', { xmlns: 'http://jabber.org/protocol/disco#info', node }) : undefined,
      execute: (payload, from) => {
        calls.push(`execute ${String(payload.attrs.node)} ${from}`);
        return Promise.resolve({
          type: 'result',
          payload: xml('command', { xmlns: 'http://jabber.org/protocol/commands' }),
        });
      },
    },
  });
  const ask = (type: string, payload: string) =>
    withCommands({ type, from: 'a@example.org/r', to: 'upload.example.org', payload: parseXml(payload) });
  const items = await ask(
    'get',
    "<query xmlns='http://jabber.org/protocol/disco#items' node='http://jabber.org/protocol/commands'/>",
  );
  assert.equal(items.type, 'result');
  const info = await ask('get', "<query xmlns='http://jabber.org/protocol/disco#info' node='my-uploads'/>");
  assert.equal(info.type, 'result');
  assert.equal(
    show(await ask('get', "<query xmlns='http://jabber.org/protocol/disco#info' node='nope'/>")),
    `error <error type="cancel"><item-not-found xmlns="${S}"/></error>`,
  );
  assert.equal(
    show(await ask('get', "<query xmlns='http://jabber.org/protocol/disco#items' node='my-uploads'/>")),
    `error <error type="cancel"><item-not-found xmlns="${S}"/></error>`,
  );
  assert.equal(
    (await ask('set', "<command xmlns='http://jabber.org/protocol/commands' node='my-uploads'/>")).type,
    'result',
  );
  assert.equal(
    show(await ask('get', "<command xmlns='http://jabber.org/protocol/commands' node='my-uploads'/>")),
    NOT_IMPLEMENTED,
  );
  assert.deepEqual(calls, ['items a@example.org/r', 'execute my-uploads a@example.org/r']);
  // Without commands, an IQ set stays not implemented.
  assert.equal(
    show(
      await route({
        type: 'set',
        from: 'a@example.org/r',
        to: 'upload.example.org',
        payload: parseXml("<command xmlns='http://jabber.org/protocol/commands' node='my-uploads'/>"),
      }),
    ),
    NOT_IMPLEMENTED,
  );
});
