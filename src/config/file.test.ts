import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmod, chown, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile, lstat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readConfigText, rewrittenMode, writeConfigText } from './file.ts';

async function withDir(f: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'fu-file-'));
  try {
    await f(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('a missing file is created with its directories and mode 0600, whatever the umask', async () => {
  await withDir(async (dir) => {
    const file = join(dir, 'a', 'b', 'openfire.xml');
    const old = process.umask(0o000);
    try {
      await writeConfigText(file, { text: '<jive/>\n', encoding: 'utf8' });
    } finally {
      process.umask(old);
    }
    assert.equal((await stat(file)).mode & 0o7777, 0o600);
    assert.equal(await readFile(file, 'utf8'), '<jive/>\n');
    assert.deepEqual(await readdir(join(dir, 'a', 'b')), ['openfire.xml'], 'no temp file left behind');
  });
});

test('an existing file keeps its mode', async () => {
  await withDir(async (dir) => {
    const file = join(dir, 'openfire.xml');
    await writeFile(file, 'old');
    await chmod(file, 0o640);
    await writeConfigText(file, { text: 'new', encoding: 'utf8' });
    assert.equal((await stat(file)).mode & 0o7777, 0o640);
    assert.equal(await readFile(file, 'utf8'), 'new');
  });
});

test(
  'an existing file keeps its owner and group',
  { skip: process.getuid?.() !== 0 && 'needs root to chown' },
  async () => {
    await withDir(async (dir) => {
      const file = join(dir, 'openfire.xml');
      await writeFile(file, 'old');
      await chown(file, 4321, 8765);
      await chmod(file, 0o604);
      await writeConfigText(file, { text: 'new', encoding: 'utf8' });
      const st = await stat(file);
      assert.deepEqual([st.uid, st.gid, st.mode & 0o7777], [4321, 8765, 0o604]);
    });
  },
);

test('rewrittenMode: a secret drops only the "other" bits; a new file is 0600', () => {
  assert.equal(rewrittenMode(0o644, { secret: true }), 0o640);
  assert.equal(rewrittenMode(0o666, { secret: true }), 0o660);
  assert.equal(rewrittenMode(0o640, { secret: true }), 0o640);
  assert.equal(rewrittenMode(0o100604, { secret: true }), 0o600);
  assert.equal(rewrittenMode(0o644, {}), 0o644);
  assert.equal(rewrittenMode(undefined, { secret: true }), 0o600);
  assert.equal(rewrittenMode(undefined, {}), 0o600);
});

test('an existing 0644 file that gets a secret becomes 0640', async () => {
  await withDir(async (dir) => {
    const file = join(dir, 'openfire.xml');
    await writeFile(file, 'old');
    await chmod(file, 0o644);
    await writeConfigText(file, { text: 'new', encoding: 'utf8' }, { secret: true });
    assert.equal((await stat(file)).mode & 0o7777, 0o640);
    assert.equal(await readFile(file, 'utf8'), 'new');
  });
});

test(
  'a root:group 0640 file with a secret keeps owner, group and mode',
  { skip: process.getuid?.() !== 0 && 'needs root to chown' },
  async () => {
    await withDir(async (dir) => {
      const file = join(dir, 'openfire.xml');
      await writeFile(file, 'old');
      await chown(file, 0, 8765);
      await chmod(file, 0o640);
      await writeConfigText(file, { text: 'new', encoding: 'utf8' }, { secret: true });
      const st = await stat(file);
      assert.deepEqual([st.uid, st.gid, st.mode & 0o7777], [0, 8765, 0o640]);
    });
  },
);

test('a symlinked configuration stays a symlink; its target is replaced', async () => {
  await withDir(async (dir) => {
    const target = join(dir, 'real.xml');
    const link = join(dir, 'openfire.xml');
    await writeFile(target, 'old');
    await symlink(target, link);
    await writeConfigText(link, { text: 'new', encoding: 'utf8' });
    assert.ok((await lstat(link)).isSymbolicLink());
    assert.equal(await readFile(target, 'utf8'), 'new');
  });
});

test('bytes that are not UTF-8 survive a read/write round trip', async () => {
  await withDir(async (dir) => {
    const file = join(dir, 'openfire.xml');
    const bytes = Buffer.from([
      0x3c, 0x6a, 0x69, 0x76, 0x65, 0x3e, 0xe9, 0xff, 0x80, 0x3c, 0x2f, 0x6a, 0x69, 0x76, 0x65, 0x3e,
    ]);
    await writeFile(file, bytes);
    const content = await readConfigText(file);
    assert.equal(content?.encoding, 'latin1');
    await writeConfigText(file, content!);
    assert.deepEqual(await readFile(file), bytes);
    assert.equal(await readConfigText(join(dir, 'missing.xml')), undefined);
  });
});

test('a crash between the temp write and the rename leaves the old file intact', async () => {
  await withDir(async (dir) => {
    const file = join(dir, 'openfire.xml');
    const old = '<?xml version="1.0"?>\n<jive><old/></jive>\n';
    await writeFile(file, old);
    const child = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { writeConfigText } from ${JSON.stringify(new URL('./file.ts', import.meta.url).href)};
       await writeConfigText(${JSON.stringify(file)}, { text: '<jive><new/></jive>', encoding: 'utf8' });
       console.log('survived');`,
      ],
      { env: { ...process.env, FILEUPLOAD_TEST_HOOK: 'crash-before-rename' }, encoding: 'utf8' },
    );
    assert.equal(child.signal, 'SIGKILL', child.stderr);
    assert.doesNotMatch(child.stdout, /survived/);
    assert.equal(await readFile(file, 'utf8'), old);
    // The fully written temp file is what the crash left behind, beside the intact original.
    const left = (await readdir(dir)).filter((n) => n !== 'openfire.xml');
    assert.equal(left.length, 1);
    assert.match(left[0]!, /^\.openfire\.xml\.\d+\.[0-9a-f]+\.tmp$/);
    assert.equal(await readFile(join(dir, left[0]!), 'utf8'), '<jive><new/></jive>');
  });
});
