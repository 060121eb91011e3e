import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { constants } from 'node:os';
import { randomBytes } from 'node:crypto';
import { ensureNative } from '../../scripts/build/native.ts';
import { tcpPairs } from '../../test/support/tcp-pair.ts';
import { loadSendfile, type SendfileAddon } from './sendfile.ts';

/**
 * The addon's sendNow for real (src/native/sendfile.c via ensureNative): one non-blocking
 * sendmsg of a head and a body range into a real loopback TCP connection.
 */

let addon: SendfileAddon;
let sendNow: NonNullable<SendfileAddon['sendNow']>;
let pairs: Awaited<ReturnType<typeof tcpPairs>>;

before(async () => {
  ensureNative();
  const got = loadSendfile();
  assert.ok(got.addon, got.addon ? '' : got.reason);
  addon = got.addon;
  assert.equal(typeof addon.sendNow, 'function');
  sendNow = addon.sendNow!.bind(addon);
  pairs = await tcpPairs({ pauseOnConnect: true });
});

after(() => pairs.close());

/** Reads from `peer` until `count` bytes arrived. */
function receive(peer: Socket, count: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`received ${n} of ${count} bytes`)), 10_000);
    peer.on('data', (d: Buffer) => {
      chunks.push(d);
      n += d.length;
      if (n >= count) {
        clearTimeout(timer);
        resolve(Buffer.concat(chunks));
      }
    });
    peer.resume();
  });
}

test('sends the head, then exactly the asked range of the body, in one call', async () => {
  const { ours, peer, fd } = await pairs.pair();
  try {
    const body = randomBytes(100_000);
    const head = 'HTTP/1.1 200 OK\r\nX-Name: caf\u00e9\r\n\r\n';
    const sent = sendNow(fd, head, body, 10, 65_536);
    assert.equal(sent, head.length + 65_536);
    const got = await receive(peer, sent);
    // latin1: é is the one byte 0xE9
    assert.deepEqual(got, Buffer.concat([Buffer.from(head, 'latin1'), body.subarray(10, 10 + 65_536)]));
  } finally {
    ours.destroy();
    peer.destroy();
  }
});

test('a full socket takes part, then nothing (0); what it took arrives in order', async () => {
  const { ours, peer, fd } = await pairs.pair();
  try {
    peer.pause();
    const body = randomBytes(32 * 1024 * 1024); // far beyond what loopback buffers take
    const head = 'HEAD\r\n';
    const first = sendNow(fd, head, body, 0, body.length);
    assert.ok(first > head.length && first < head.length + body.length, `partial send expected, got ${first}`);
    let offset = first - head.length;
    let zero = false;
    for (let i = 0; i < 1000 && !zero; i++) {
      const more = sendNow(fd, '', body, offset, body.length - offset);
      assert.ok(more >= 0, `no error expected, got ${more}`);
      if (more === 0) zero = true;
      offset += more;
    }
    assert.ok(zero, 'the socket never filled up');
    const got = await receive(peer, head.length + offset);
    assert.deepEqual(got.subarray(0, head.length).toString('latin1'), head);
    assert.ok(got.subarray(head.length).equals(body.subarray(0, offset)));
  } finally {
    ours.destroy();
    peer.destroy();
  }
});

test('a peer that reset the connection: minus EPIPE or ECONNRESET, never a throw', async () => {
  const { ours, peer, fd } = await pairs.pair();
  try {
    peer.resetAndDestroy();
    let result = 0;
    // Bounded: the reset reaches our side of the loopback within a few milliseconds.
    for (let i = 0; i < 200 && result >= 0; i++) {
      result = sendNow(fd, 'x', new Uint8Array(1), 0, 1);
      if (result >= 0) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.ok([-constants.errno.EPIPE, -constants.errno.ECONNRESET].includes(result), `got ${result}`);
  } finally {
    ours.destroy();
  }
});

test('bad arguments throw a TypeError naming the call', () => {
  const body = new Uint8Array(10);
  const bad: unknown[][] = [
    [-1, '', body, 0, 0],
    [1, 42, body, 0, 0],
    [1, '', 'not bytes', 0, 0],
    [1, '', new Uint16Array(4), 0, 0],
    [1, '', body, 5, 6], // past the end
    [1, '', body, -1, 1],
  ];
  for (const args of bad) {
    assert.throws(
      () => (sendNow as (...a: unknown[]) => number)(...args),
      (e: Error) => e instanceof TypeError && /^sendNow\(fd, head, body, offset, length\)/.test(e.message),
      JSON.stringify(args.map(String)),
    );
  }
});
