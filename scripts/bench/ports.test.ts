import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { announcedPort } from './ports.ts';

function child(code: string) {
  return spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
}

test('announcedPort reads the port a helper prints as its first line', async () => {
  const c = child('console.log(JSON.stringify({ port: 4242 })); setTimeout(() => {}, 5000)');
  try {
    assert.equal(await announcedPort(c, 'helper'), 4242);
  } finally {
    c.kill();
  }
});

test('announcedPort names the helper when it exits, prints something else, or says nothing in time', async () => {
  await assert.rejects(
    announcedPort(child('process.exit(3)'), 'null server'),
    /null server exited \(3\) before announcing its port/,
  );
  await assert.rejects(
    announcedPort(child('console.log("hello")'), 'bare node server'),
    /bare node server announced no port: hello/,
  );
  await assert.rejects(
    announcedPort(child('console.log(JSON.stringify({ port: "80" }))'), 'helper'),
    /announced no port/,
  );
  const silent = child('setTimeout(() => {}, 5000)');
  try {
    await assert.rejects(announcedPort(silent, 'helper', 200), /helper did not announce its port within 200 ms/);
  } finally {
    silent.kill();
  }
});
