import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createLogger, lineBuffer } from './log.ts';

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('lines written in one turn reach the sink in one call, in order', async () => {
  const calls: string[] = [];
  const out = lineBuffer((text) => calls.push(text));
  out.write('a\n');
  out.write('b\n');
  assert.deepEqual(calls, [], 'nothing is written synchronously');
  await nextTurn();
  assert.deepEqual(calls, ['a\nb\n']);
  out.write('c\n');
  await nextTurn();
  assert.deepEqual(calls, ['a\nb\n', 'c\n']);
});

test('a burst past 64 KiB goes out at once instead of growing the buffer', () => {
  const calls: string[] = [];
  const out = lineBuffer((text) => calls.push(text));
  const line = 'x'.repeat(1023) + '\n';
  for (let i = 0; i < 64; i++) out.write(line);
  assert.equal(calls.length, 1);
  assert.equal(calls[0]!.length, 64 * 1024);
});

test('flushSync hands over what is held, to another sink if given', async () => {
  const calls: string[] = [];
  const other: string[] = [];
  const out = lineBuffer((text) => calls.push(text));
  out.write('late\n');
  out.flushSync((text) => other.push(text));
  assert.deepEqual(other, ['late\n']);
  await nextTurn();
  assert.deepEqual(calls, [], 'a flushed line is not written twice');
});

test('a line logged right before process.exit() still reaches stdout', () => {
  const log = fileURLToPath(new URL('./log.ts', import.meta.url));
  const script = `import { createLogger } from ${JSON.stringify(log)}; const l = createLogger({ component: 't' }); l.info('one'); l.warn('two'); process.exit(3);`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 3, r.stderr);
  const lines = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { msg: string; component: string });
  assert.deepEqual(
    lines.map((l) => l.msg),
    ['one', 'two'],
  );
  assert.equal(lines[0]!.component, 't');
});

test('a logger given its own write is not buffered', () => {
  const lines: string[] = [];
  createLogger({}, { write: (l) => lines.push(l) }).info('now');
  assert.equal(lines.length, 1);
});

test('a line has time, level and msg first, then the bound fields, then the call’s; a field overrides in place', () => {
  const lines: string[] = [];
  const log = createLogger(
    { component: 'http', node: 'a' },
    { write: (l) => lines.push(l), now: () => new Date(0) },
  ).child({ extra: 1 });
  log.info('request', { status: 201, node: 'b', gone: undefined, msg: 'renamed' });
  assert.equal(
    lines[0],
    '{"time":"1970-01-01T00:00:00.000Z","level":"info","msg":"renamed","component":"http","node":"b","extra":1,"status":201}\n',
  );
});

test('an Error field is logged as its name, message and code', () => {
  const lines: string[] = [];
  const err = Object.assign(new Error('no space'), { code: 'ENOSPC' });
  createLogger({}, { write: (l) => lines.push(l) }).error('failed', { err, plain: new TypeError('x') });
  const line = JSON.parse(lines[0]!) as Record<string, unknown>;
  assert.deepEqual(line.err, { name: 'Error', message: 'no space', code: 'ENOSPC' });
  assert.deepEqual(line.plain, { name: 'TypeError', message: 'x' });
});

test('enabled() says which levels are written', () => {
  const lines: string[] = [];
  const log = createLogger({}, { level: 'info', write: (l) => lines.push(l) });
  assert.deepEqual(
    (['debug', 'info', 'warn', 'error'] as const).map((l) => log.enabled(l)),
    [false, true, true, true],
  );
  log.debug('dropped');
  assert.equal(lines.length, 0);
  assert.equal(createLogger({}, { level: 'debug', write: () => {} }).enabled('debug'), true);
});
