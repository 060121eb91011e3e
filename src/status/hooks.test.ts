import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { LiveState } from './live.ts';
import { observeComponent, type ObservableComponent } from './hooks.ts';
import { createUploadComponent } from '../xmpp/service.ts';
import { fileTooLarge, forbidden } from '../xmpp/refusal.ts';
import { testSettings } from '../../test/support/http-kit.ts';
import { freePort } from '../../scripts/testservers/processes.ts';
import { silentLogger } from '../log.ts';

test('the real component, with nothing listening: offline with its reason, the error recorded once', async () => {
  const port = await freePort();
  const live = new LiveState();
  const component = createUploadComponent({
    settings: testSettings({ xmppHost: '127.0.0.1', xmppPort: port }),
    logger: silentLogger,
    backoff: { initialDelay: 10, maxDelay: 20, jitter: 0 },
  });
  observeComponent(live, component);
  component.start();
  try {
    for (let i = 0; i < 300 && live.counters.errors === 0; i++) await new Promise((r) => setTimeout(r, 10));
    // Let it retry a few times.
    await new Promise((r) => setTimeout(r, 150));
    const x = live.snapshot().xmpp;
    assert.ok(['offline', 'connecting'].includes(x.state), x.state);
    const s = live.snapshot();
    assert.equal(s.errors.length, 1, 'the same failure again is not a new error');
    assert.match(s.errors[0]?.message ?? '', new RegExp(`nothing accepts connections at 127\\.0\\.0\\.1:${port}`));
  } finally {
    await component.stop();
  }
  assert.equal(live.snapshot().xmpp.state, 'offline');
});

test('component events map to states, reconnects and slot counts', () => {
  const events = new EventEmitter();
  const fake = Object.assign(events, { state: 'idle' }) as unknown as ObservableComponent & EventEmitter;
  const live = new LiveState();
  observeComponent(live, fake);
  assert.equal(live.snapshot().xmpp.state, 'connecting');
  fake.emit('state', 'online', 'connecting');
  fake.emit('online');
  fake.emit('state', 'offline', 'online');
  fake.emit('offline', { message: 'the server closed the connection', hint: 'h' });
  let x = live.snapshot().xmpp;
  assert.deepEqual([x.state, x.detail], ['offline', 'the server closed the connection']);
  fake.emit('state', 'connecting', 'offline');
  fake.emit('state', 'online', 'connecting');
  fake.emit('online');
  fake.emit('slot', { id: 'slot-9', filename: 'from-the-slot.txt' }, {});
  live.uploadStarted({ id: 'slot-9', size: 1, uploader: 'a@b' });
  assert.equal(
    live.snapshot().inFlight[0]?.filename,
    'from-the-slot.txt',
    "the slot's file name is remembered for its upload",
  );
  fake.emit('refused', fileTooLarge(10), undefined);
  fake.emit('refused', forbidden(), undefined);
  fake.emit('state', 'stopped', 'online');
  x = live.snapshot().xmpp;
  assert.deepEqual([x.state, x.detail, x.reconnects], ['offline', 'serve is stopping', 1]);
  assert.equal(live.counters.slotsIssued, 1);
  assert.deepEqual(live.snapshot().totals.slotsRefused, { 'too-large': 1, forbidden: 1 });
});
