/**
 * The component against a real Prosody 0.12 on loopback (scripts/testservers/prosody.ts) with a
 * real user client (@xmpp/client via test/support/xmpp-client.ts), plus two tiny fake servers
 * for what Prosody will not do on demand (swallow pings, never answer).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { startProsody } from '../../scripts/testservers/prosody.ts';
import type { XmppTestServer } from '../../scripts/testservers/server.ts';
import { connectUser, type UserSession } from '../../test/support/xmpp-client.ts';
import { createLogger } from '../log.ts';
import type { Settings } from '../config/settings.ts';
import { settingsFromLayers } from '../config/load.ts';
import { defaultsLayer, mapLayer } from '../config/resolve.ts';
import { createUploadComponent, type UploadComponent, type UploadComponentOptions } from './service.ts';

type Line = Record<string, unknown> & { msg: string; level: string };

/** Captures the component's JSON log lines and lets a test wait for one. */
function logSink() {
  const lines: Line[] = [];
  const waiters: Array<{ match: (l: Line) => boolean; resolve: (l: Line) => void }> = [];
  const logger = createLogger(
    {},
    {
      level: 'debug',
      write: (text) => {
        const line = JSON.parse(text) as Line;
        lines.push(line);
        for (const w of [...waiters]) {
          if (w.match(line)) {
            waiters.splice(waiters.indexOf(w), 1);
            w.resolve(line);
          }
        }
      },
    },
  );
  const waitFor = (match: (l: Line) => boolean, timeoutMs = 15_000, from = 0): Promise<Line> => {
    const seen = lines.slice(from).find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `no matching log line in ${timeoutMs} ms; got:\n${lines.map((l) => JSON.stringify(l)).join('\n')}`,
            ),
          ),
        timeoutMs,
      );
      waiters.push({ match, resolve: (l) => (clearTimeout(timer), resolve(l)) });
    });
  };
  return { logger, lines, waitFor };
}

/** Real settings through the configuration catalogue (defaults included), pointed at `server`. */
function settingsFor(
  server: { componentPort: number; componentDomain: string; componentSecret: string },
  overrides: Partial<Settings> = {},
): Settings {
  const base = settingsFromLayers([
    mapLayer('test', {
      maxFileSize: '1000',
      announcedWebProtocol: 'https',
      announcedWebHost: 'files.localhost',
      announcedWebPort: '443',
      announcedWebContextRoot: '/upload',
      xmppHost: '127.0.0.1',
      xmppPort: String(server.componentPort),
      domain: server.componentDomain,
      sharedSecret: server.componentSecret,
      slotSecret: randomBytes(32).toString('base64url'),
    }),
    defaultsLayer(),
  ]);
  return { ...base, ...overrides };
}

const FAST: Partial<UploadComponentOptions> = {
  backoff: { initialDelay: 50, maxDelay: 3000, jitter: 0.25 },
  connectTimeout: 5000,
};

describe('upload component against Prosody', () => {
  let prosody: XmppTestServer;
  before(async () => {
    prosody = await startProsody({
      users: [
        { user: 'alice', password: 'alice-pw' },
        { user: 'mallory', password: 'mallory-pw', host: 'elsewhere.localhost' },
      ],
    });
  });
  after(() => prosody?.stop());

  const login = (i: number) => {
    const u = prosody.users[i]!;
    return connectUser({ port: prosody.c2sPort, domain: u.host, username: u.user, password: u.password });
  };

  it('connects, is found through the server, answers disco#info, ping and slot requests; refuses strangers', async () => {
    const sink = logSink();
    const xmpp = createUploadComponent({ settings: settingsFor(prosody), logger: sink.logger, ...FAST });
    const states: string[] = [];
    xmpp.on('state', (s) => states.push(s));
    let alice: UserSession | undefined;
    let mallory: UserSession | undefined;
    try {
      xmpp.start();
      await xmpp.online(10_000);
      assert.equal(xmpp.state, 'online');
      assert.deepEqual(states, ['connecting', 'online']);
      const online = await sink.waitFor((l) => l.msg === 'xmpp online');
      assert.equal(online.domain, prosody.componentDomain);

      alice = await login(0);
      const service = await alice.findUploadService();
      assert.equal(service?.jid, prosody.componentDomain);
      assert.ok(
        service.info.identities.some(
          (i) => i.category === 'store' && i.type === 'file' && i.name === 'HTTP File Upload',
        ),
      );
      for (const f of [
        'urn:xmpp:http:upload:0',
        'urn:xmpp:http:upload',
        'eu:siacs:conversations:http:upload',
        'urn:xmpp:ping',
        'jabber:iq:version',
        'urn:xmpp:time',
      ]) {
        assert.ok(service.info.features.includes(f), f);
      }
      assert.equal(service.maxFileSize, 1000);
      assert.deepEqual([...service.info.forms.keys()].sort(), [
        'eu:siacs:conversations:http:upload',
        'urn:xmpp:http:upload',
        'urn:xmpp:http:upload:0',
      ]);

      const { xml } = await import('@xmpp/client');
      assert.equal(
        (await alice.iq(prosody.componentDomain, 'get', xml('ping', { xmlns: 'urn:xmpp:ping' }))).type,
        'result',
      );
      const version = await alice.iq(prosody.componentDomain, 'get', xml('query', { xmlns: 'jabber:iq:version' }));
      assert.equal(
        version.type === 'result' && version.stanza.getChild('query', 'jabber:iq:version')?.getChildText('name'),
        'fileupload',
      );
      const unknown = await alice.iq(prosody.componentDomain, 'get', xml('query', { xmlns: 'urn:example:nothing' }));
      assert.equal(
        unknown.type === 'error' && `${unknown.error.type}/${unknown.error.condition}`,
        'cancel/feature-not-implemented',
      );

      const slot = await alice.requestSlot(prosody.componentDomain, {
        namespace: 'urn:xmpp:http:upload',
        shape: 'children',
        filename: 'a b.txt',
        size: 10,
      });
      assert.ok(slot.ok);
      assert.equal(slot.answerShape, 'text');
      assert.match(slot.get, /^https:\/\/files\.localhost:443\/upload\/[A-Za-z0-9_-]{24}\/a%20b\.txt$/);
      assert.ok(slot.put.startsWith(`${slot.get}?t=`));

      const tooBig = await alice.requestSlot(prosody.componentDomain, {
        namespace: 'urn:xmpp:http:upload:0',
        shape: 'attributes',
        filename: 'big',
        size: 1001,
      });
      assert.ok(!tooBig.ok);
      assert.deepEqual(
        [tooBig.error.type, tooBig.error.condition, tooBig.error.maxFileSize],
        ['modify', 'not-acceptable', 1000],
      );

      mallory = await login(1);
      const stranger = await mallory.requestSlot(prosody.componentDomain, {
        namespace: 'urn:xmpp:http:upload:0',
        shape: 'attributes',
        filename: 'a',
        size: 1,
      });
      assert.ok(!stranger.ok);
      assert.equal(`${stranger.error.type}/${stranger.error.condition}`, 'auth/forbidden');

      assert.deepEqual([xmpp.stats.slotsIssued, xmpp.stats.slotsRefused], [1, 2]);
      assert.ok(sink.lines.some((l) => l.msg === 'slot issued' && l.uploader === 'alice@localhost'));
    } finally {
      await alice?.close();
      await mallory?.close();
      await xmpp.stop();
    }
    assert.equal(xmpp.state, 'stopped');
  });

  it('a request whose handling throws is answered wait/internal-server-error; the connection stays', async () => {
    const sink = logSink();
    const good = settingsFor(prosody);
    let broken = false;
    const xmpp = createUploadComponent({
      settings: () => {
        if (broken) throw new Error('settings store unreadable');
        return good;
      },
      logger: sink.logger,
      ...FAST,
    });
    let alice: UserSession | undefined;
    try {
      xmpp.start();
      await xmpp.online(10_000);
      alice = await login(0);
      const { xml } = await import('@xmpp/client');
      broken = true;
      const r = await alice.iq(
        prosody.componentDomain,
        'get',
        xml('query', { xmlns: 'http://jabber.org/protocol/disco#info' }),
      );
      assert.equal(r.type === 'error' && `${r.error.type}/${r.error.condition}`, 'wait/internal-server-error');
      assert.ok(sink.lines.some((l) => l.msg === 'IQ handling failed' && l.level === 'error'));
      broken = false;
      assert.equal(
        (await alice.iq(prosody.componentDomain, 'get', xml('ping', { xmlns: 'urn:xmpp:ping' }))).type,
        'result',
      );
      assert.equal(xmpp.state, 'online');
      assert.equal(xmpp.stats.disconnects, 0);
    } finally {
      await alice?.close();
      await xmpp.stop();
    }
  });

  it('a request nested 5,000 deep, or with 20,000 children or attributes, still gets its error reply, echoing only its top element', async () => {
    const sink = logSink();
    const xmpp = createUploadComponent({ settings: settingsFor(prosody), logger: sink.logger, ...FAST });
    let alice: UserSession | undefined;
    try {
      xmpp.start();
      await xmpp.online(10_000);
      alice = await login(0);
      const { xml } = await import('@xmpp/client');
      const raw = alice.raw as unknown as {
        write(s: string): Promise<void>;
        on(e: 'stanza', l: (s: Element) => void): void;
        off(e: 'stanza', l: (s: Element) => void): void;
      };
      type Element = Parameters<UserSession['iq']>[2];
      /** Writes an IQ as text (the client's own serialiser would overflow on the deep one) and waits for its answer. */
      const ask = (id: string, payload: string) =>
        new Promise<Element>((resolve, reject) => {
          const timer = setTimeout(() => {
            raw.off('stanza', onStanza);
            reject(
              new Error(
                `no answer to ${id} within 10 s; component log:\n${sink.lines.map((l) => JSON.stringify(l)).join('\n')}`,
              ),
            );
          }, 10_000);
          const onStanza = (stanza: Element) => {
            if (stanza.attrs.id !== id) return;
            clearTimeout(timer);
            raw.off('stanza', onStanza);
            resolve(stanza);
          };
          raw.on('stanza', onStanza);
          void raw.write(`<iq type='get' id='${id}' to='${prosody.componentDomain}'>${payload}</iq>`);
        });
      const cases: [string, string, string][] = [
        [
          'deep',
          `<query xmlns='urn:example:deep'>${'<a>'.repeat(5000)}${'</a>'.repeat(5000)}</query>`,
          '<query xmlns="urn:example:deep"/>',
        ],
        [
          'many children',
          `<query xmlns='urn:example:wide'>${'<c/>'.repeat(20_000)}</query>`,
          '<query xmlns="urn:example:wide"/>',
        ],
        [
          'many attributes',
          `<query xmlns='urn:example:wide' ${Array.from({ length: 20_000 }, (_, i) => `a${i}='v'`).join(' ')}/>`,
          '<query xmlns="urn:example:wide"/>',
        ],
        // A slot request that is refused (too big) after its deep content was read past.
        [
          'deep slot request',
          `<request xmlns='urn:xmpp:http:upload:0' filename='a.txt' size='1001'>${'<a>'.repeat(5000)}${'</a>'.repeat(5000)}</request>`,
          '<request xmlns="urn:xmpp:http:upload:0" filename="a.txt" size="1001"/>',
        ],
      ];
      for (const [what, payload, echo] of cases) {
        assert.ok(payload.length < 256 * 1024, `${what}: within Prosody's c2s stanza size limit`);
        const reply = await ask(what.replace(/ /g, '-'), payload);
        assert.equal(reply.attrs.type, 'error', what);
        const echoed = reply.getChildElements().filter((c) => c.name !== 'error');
        // Attribute order is Prosody's: compare the parsed echo.
        const { parseXml } = await import('./xml.ts');
        const expected = parseXml(echo);
        assert.deepEqual(
          echoed.map((c) => ({ name: c.name, attrs: { ...c.attrs }, children: c.children.length })),
          [{ name: expected.name, attrs: { ...expected.attrs }, children: 0 }],
          what,
        );
        assert.ok(reply.getChild('error'), what);
      }
      // Two slot requests in one IQ: Prosody answers bad-request itself ("Incorrect number of
      // children for IQ stanza"); the component never sees it (its @xmpp/iq would answer alike).
      const two = await ask(
        'two',
        `<request xmlns='urn:xmpp:http:upload:0' filename='a.txt' size='3'/><request xmlns='urn:xmpp:http:upload:0' filename='b.txt' size='3'/>`,
      );
      assert.equal(two.attrs.type, 'error');
      assert.ok(two.getChild('error')?.getChild('bad-request'), two.toString());
      // Unknown children of a request are ignored, however deep: the slot is granted.
      const slot = await ask(
        'deep-slot',
        `<request xmlns='urn:xmpp:http:upload:0' filename='a.txt' size='3'>${'<a>'.repeat(5000)}${'</a>'.repeat(5000)}</request>`,
      );
      assert.equal(slot.attrs.type, 'result');
      assert.ok(!sink.lines.some((l) => l.msg === 'xmpp stanza not sent'), 'every reply went out');
      assert.equal(
        (await alice.iq(prosody.componentDomain, 'get', xml('ping', { xmlns: 'urn:xmpp:ping' }))).type,
        'result',
      );
      assert.equal(xmpp.stats.disconnects, 0);
    } finally {
      await alice?.close();
      await xmpp.stop();
    }
  });

  it('an answer that cannot be sent is logged at warn, and the connection stays', async () => {
    const sink = logSink();
    // A refusal text that cannot be serialised (its toString throws): the answer fails only when
    // it is written to the connection.
    let broken = true;
    const unserialisable = {
      toString(): string {
        throw new Error('not serialisable');
      },
      toJSON: () => 'unserialisable', // for the log line
    };
    const { refuse, allow } = await import('./policy.ts');
    const xmpp = createUploadComponent({
      settings: settingsFor(prosody),
      logger: sink.logger,
      ...FAST,
      hooks: {
        policies: [
          () =>
            broken
              ? refuse({ type: 'cancel', condition: 'not-allowed', text: unserialisable as unknown as string })
              : allow,
        ],
      },
    });
    let alice: UserSession | undefined;
    try {
      xmpp.start();
      await xmpp.online(10_000);
      alice = await login(0);
      const spec = { namespace: 'urn:xmpp:http:upload:0', shape: 'attributes' as const, filename: 'a.txt', size: 3 };
      await assert.rejects(alice.requestSlot(prosody.componentDomain, spec, 1000), /no answer/);
      const warned = await sink.waitFor((l) => l.msg === 'xmpp stanza not sent');
      assert.deepEqual([warned.level, warned.stanza, warned.type], ['warn', 'iq', 'error']);
      broken = false;
      assert.ok((await alice.requestSlot(prosody.componentDomain, spec)).ok);
      assert.equal(xmpp.stats.disconnects, 0);
    } finally {
      await alice?.close();
      await xmpp.stop();
    }
  });

  it('a wrong secret is logged as a refused handshake naming sharedSecret, and retried with growing delays', async () => {
    const sink = logSink();
    const xmpp = createUploadComponent({
      settings: settingsFor(prosody, { sharedSecret: 'not-the-secret' }),
      logger: sink.logger,
      ...FAST,
    });
    try {
      xmpp.start();
      const isRefusal = (l: Line) => l.msg === 'xmpp connection failed';
      await sink.waitFor((l) => isRefusal(l) && l.failuresInRow === 4);
      const refusals = sink.lines.filter(isRefusal);
      for (const line of refusals) {
        assert.equal(line.level, 'error');
        assert.equal(line.cause, 'auth');
        assert.equal(line.condition, 'not-authorized');
        assert.match(String(line.reason), /refused the component handshake/);
        assert.match(String(line.hint), /sharedSecret/);
        assert.equal(line.domain, prosody.componentDomain);
      }
      const delays = refusals.slice(0, 4).map((l) => l.retryInMs as number);
      for (let i = 1; i < delays.length; i++)
        assert.ok(delays[i]! > delays[i - 1]!, `delays grow: ${delays.join(', ')}`);
      assert.ok(delays.every((d) => d <= 3000));
      assert.equal(xmpp.state === 'auth-failed' || xmpp.state === 'connecting', true, xmpp.state);
      assert.ok(!sink.lines.some((l) => l.msg === 'xmpp online'));
      assert.equal(xmpp.stats.connects, 0);
      assert.ok(xmpp.stats.failures >= 4);
      assert.equal(xmpp.stats.lastFailure?.cause, 'auth');
    } finally {
      await xmpp.stop();
    }
    const attempts = xmpp.stats.attempts;
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(xmpp.stats.attempts, attempts, 'no attempts after stop()');
  });

  it('a second connection for the same component is a conflict and keeps retrying until the first goes', async () => {
    const first = createUploadComponent({ settings: settingsFor(prosody), logger: logSink().logger, ...FAST });
    const sink = logSink();
    const second = createUploadComponent({
      settings: settingsFor(prosody),
      logger: sink.logger,
      ...FAST,
      backoff: { initialDelay: 50, maxDelay: 60_000, jitter: 0 },
      standbyInterval: 150,
    });
    try {
      first.start();
      await first.online(10_000);
      second.start();
      await sink.waitFor((l) => l.msg === 'xmpp connection failed' && l.failuresInRow === 4);
      const conflicts = sink.lines.filter((l) => l.msg === 'xmpp connection failed');
      assert.ok(conflicts.every((l) => l.cause === 'conflict' && l.condition === 'conflict'));
      assert.deepEqual(
        conflicts.slice(0, 4).map((l) => l.level),
        ['warn', 'debug', 'debug', 'debug'],
        'said once, then quietly',
      );
      assert.deepEqual(
        conflicts.slice(0, 4).map((l) => l.retryInMs),
        [50, 100, 150, 150],
        'backoff capped at the standby pace',
      );
      assert.equal(second.state === 'conflict' || second.state === 'connecting', true);
      await first.stop();
      await second.online(10_000);
    } finally {
      await first.stop();
      await second.stop();
    }
  });

  it('reconnects when Prosody stops and comes back, and answers again', async () => {
    const sink = logSink();
    const xmpp = createUploadComponent({ settings: settingsFor(prosody), logger: sink.logger, ...FAST });
    let alice: UserSession | undefined;
    try {
      xmpp.start();
      await xmpp.online(10_000);
      await prosody.pause();
      const offline = await sink.waitFor((l) => l.msg === 'xmpp offline');
      assert.equal(offline.level, 'warn');
      assert.ok(typeof offline.retryInMs === 'number');
      // While the server is down, attempts fail with "refused", naming where it tried.
      const refused = await sink.waitFor((l) => l.msg === 'xmpp connection failed' && l.cause === 'refused');
      assert.equal(refused.port, prosody.componentPort);
      assert.match(String(refused.hint), /xmppHost, xmppPort/);

      await prosody.restart();
      await sink.waitFor((l) => l.msg === 'xmpp online', 15_000, sink.lines.indexOf(offline));
      assert.equal(xmpp.state, 'online');
      assert.equal(xmpp.stats.connects, 2);
      assert.equal(xmpp.stats.reconnects, 1);
      assert.equal(xmpp.stats.disconnects, 1);

      alice = await login(0);
      const info = await alice.discoInfo(prosody.componentDomain);
      assert.ok(info.features.includes('urn:xmpp:http:upload:0'));
    } finally {
      await alice?.close();
      await xmpp.stop();
    }
  });
});

/** A component port that completes the handshake and then ignores everything (a silent server). */
async function silentServer(
  answerHandshake: boolean,
): Promise<{ port: number; connections: () => number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let count = 0;
  const server: Server = createServer((socket) => {
    count++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.on('data', (data) => {
      const text = data.toString();
      if (!answerHandshake) return;
      if (text.includes('<stream:stream')) {
        socket.write(
          "<?xml version='1.0'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:component:accept' id='abc' from='upload.localhost'>",
        );
      }
      if (text.includes('<handshake')) socket.write('<handshake/>');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    port,
    connections: () => count,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('upload component against servers that go silent', () => {
  const fake = { componentDomain: 'upload.localhost', componentSecret: 'secret' };

  it('an unanswered keepalive ping drops the connection and reconnects', async () => {
    const server = await silentServer(true);
    const sink = logSink();
    let xmpp: UploadComponent | undefined;
    try {
      xmpp = createUploadComponent({
        settings: settingsFor({ ...fake, componentPort: server.port }),
        logger: sink.logger,
        ...FAST,
        pingKeepalive: { interval: 100, timeout: 200 },
      });
      xmpp.start();
      await xmpp.online(5000);
      const offline = await sink.waitFor((l) => l.msg === 'xmpp offline');
      assert.equal(offline.cause, 'timeout');
      await sink.waitFor((l) => l.msg === 'xmpp online', 5000, sink.lines.indexOf(offline));
      assert.ok(server.connections() >= 2);
    } finally {
      await xmpp?.stop();
      await server.close();
    }
  });

  it('a server that never answers the stream times out and is retried', async () => {
    const server = await silentServer(false);
    const sink = logSink();
    const xmpp = createUploadComponent({
      settings: settingsFor({ ...fake, componentPort: server.port }),
      logger: sink.logger,
      ...FAST,
      connectTimeout: 200,
    });
    try {
      xmpp.start();
      const failed = await sink.waitFor((l) => l.msg === 'xmpp connection failed');
      assert.deepEqual([failed.level, failed.cause], ['warn', 'timeout']);
      await sink.waitFor((l) => l.msg === 'xmpp connecting' && l.attempt === 2);
    } finally {
      await xmpp.stop();
      await server.close();
    }
  });

  it('shouldConnect=false stands by without connecting; true connects', async () => {
    const server = await silentServer(true);
    let leader = false;
    const xmpp = createUploadComponent({
      settings: settingsFor({ ...fake, componentPort: server.port }),
      logger: logSink().logger,
      ...FAST,
      standbyInterval: 50,
      hooks: { shouldConnect: () => leader },
    });
    try {
      xmpp.start();
      await new Promise<void>((resolve) => xmpp.on('state', (s) => s === 'standby' && resolve()));
      assert.equal(server.connections(), 0);
      leader = true;
      await xmpp.online(5000);
      assert.equal(server.connections(), 1);
    } finally {
      await xmpp.stop();
      await server.close();
    }
  });
});

describe('createUploadComponent', () => {
  it('refuses settings without domain, sharedSecret or slotSecret, naming them', () => {
    const s = settingsFor(
      { componentPort: 1, componentDomain: 'upload.localhost', componentSecret: 'x' },
      { sharedSecret: undefined, slotSecret: undefined },
    );
    assert.throws(
      () => createUploadComponent({ settings: s }),
      /plugin\.httpfileupload\.sharedSecret, plugin\.httpfileupload\.slotSecret/,
    );
  });
});
