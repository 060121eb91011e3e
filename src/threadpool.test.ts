import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { THREADPOOL_SIZE } from './threadpool.ts';

const module = fileURLToPath(new URL('./threadpool.ts', import.meta.url));

/** Threads named libuv-worker in a child that imported the module and then used the pool. */
function poolThreads(env: NodeJS.ProcessEnv): number {
  const script = `import ${JSON.stringify(module)};
    import { readFile } from 'node:fs/promises';
    import { readdirSync, readFileSync } from 'node:fs';
    await readFile(${JSON.stringify(module)});
    const names = readdirSync('/proc/self/task').map((t) => readFileSync('/proc/self/task/' + t + '/comm', 'utf8').trim());
    console.log(names.filter((n) => n === 'libuv-worker').length);`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env });
  assert.equal(r.status, 0, r.stderr);
  return Number(r.stdout.trim());
}

test('the thread pool starts with THREADPOOL_SIZE threads', () => {
  const env = { ...process.env };
  delete env.UV_THREADPOOL_SIZE;
  assert.equal(poolThreads(env), THREADPOOL_SIZE);
});

test("an operator's UV_THREADPOOL_SIZE is kept", () => {
  assert.equal(poolThreads({ ...process.env, UV_THREADPOOL_SIZE: '6' }), 6);
});

test('main.ts imports it before anything else', async () => {
  const { readFile } = await import('node:fs/promises');
  const main = await readFile(fileURLToPath(new URL('./main.ts', import.meta.url)), 'utf8');
  const firstImport = /^import .*$/m.exec(main)?.[0];
  assert.equal(firstImport, "import './threadpool.ts';");
});
