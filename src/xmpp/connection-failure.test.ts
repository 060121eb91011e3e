import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeFailure } from './connection-failure.ts';

const target = { host: '127.0.0.1', port: 5347, domain: 'upload.example.org' };
const streamError = (condition: string, text = '') =>
  Object.assign(new Error(`${condition} - ${text}`), { name: 'StreamError', condition, text });
const sysError = (code: string) => Object.assign(new Error(`connect ${code}`), { code });

test('not-authorized: auth-failed, names the secret to check and keeps the server text', () => {
  const f = describeFailure(streamError('not-authorized', 'Given token does not match calculated token'), target);
  assert.equal(f.cause, 'auth');
  assert.equal(f.state, 'auth-failed');
  assert.equal(f.condition, 'not-authorized');
  assert.equal(f.detail, 'Given token does not match calculated token');
  assert.match(f.message, /refused the component handshake for upload\.example\.org/);
  assert.match(f.hint, /sharedSecret/);
  assert.match(f.hint, /component_secret/);
});

test('conflict, unknown component, wrong port, other stream errors', () => {
  assert.deepEqual(
    [describeFailure(streamError('conflict'), target).cause, describeFailure(streamError('conflict'), target).state],
    ['conflict', 'conflict'],
  );
  const unknown = describeFailure(streamError('host-unknown'), target);
  assert.equal(unknown.cause, 'unknown-component');
  assert.match(unknown.hint, /Component "upload\.example\.org"/);
  assert.equal(describeFailure(streamError('improper-addressing'), target).cause, 'unknown-component');
  const port = describeFailure(streamError('invalid-namespace'), target);
  assert.equal(port.cause, 'wrong-port');
  assert.match(port.hint, /xmppPort/);
  const other = describeFailure(streamError('system-shutdown'), target);
  assert.deepEqual([other.cause, other.state, other.condition], ['stream-error', 'offline', 'system-shutdown']);
});

test('socket errors', () => {
  const refused = describeFailure(sysError('ECONNREFUSED'), target);
  assert.equal(refused.cause, 'refused');
  assert.match(refused.message, /127\.0\.0\.1:5347/);
  assert.equal(refused.detail, 'ECONNREFUSED');
  assert.equal(describeFailure(sysError('ENOTFOUND'), target).cause, 'unreachable');
  assert.equal(describeFailure(sysError('EHOSTUNREACH'), target).cause, 'unreachable');
  assert.equal(describeFailure(sysError('ECONNRESET'), target).cause, 'closed');
});

test('timeouts, closed connections, anything else', () => {
  assert.equal(describeFailure(Object.assign(new Error('x'), { name: 'TimeoutError' }), target).cause, 'timeout');
  assert.equal(describeFailure(Object.assign(new Error('x'), { name: 'ConnectionClosed' }), target).cause, 'closed');
  const f = describeFailure(new Error('weird'), target);
  assert.deepEqual([f.cause, f.state, f.detail], ['error', 'offline', 'weird']);
  assert.equal(describeFailure(undefined, target).cause, 'error');
  assert.equal(describeFailure('a string', target).cause, 'error');
});
