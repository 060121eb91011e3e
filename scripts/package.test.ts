/**
 * `npm run package`: the rules it derives the package from (version, Depends, the packaged unit)
 * and what it writes — run for real into a temporary folder, twice: the .deb's control fields,
 * files, modes and owners (dpkg-deb), the maintainer scripts, the tarball's listing against the
 * .deb's, SHA256SUMS verified by sha256sum, and the second run giving the same bytes. What the
 * maintainer scripts do on a machine is checked by scripts/package-check.sh (root; CI runs it).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { debianVersion, depends, highestSymbolVersion, packagedUnit } from './package.ts';
import { BINARY, NODE24, ROOT } from './build/paths.ts';
import pkg from '../package.json' with { type: 'json' };

const UNIT = readFileSync(join(ROOT, 'contrib', 'fileupload.service'), 'utf8');

test('a pre-release version sorts before its release in dpkg', () => {
  assert.equal(debianVersion('0.1.0'), '0.1.0');
  assert.equal(debianVersion('1.0.0-rc.1'), '1.0.0~rc.1');
  const r = spawnSync('dpkg', ['--compare-versions', debianVersion('1.0.0-rc.1'), 'lt', '1.0.0']);
  assert.equal(r.status, 0, '1.0.0~rc.1 < 1.0.0');
  assert.throws(() => debianVersion('v1'), /"v1" is no version/);
});

test('Depends asks for the highest glibc symbol version the binary uses, numerically', () => {
  const dump = '(GLIBC_2.9) a\n(GLIBC_2.28) b\n(GLIBC_2.3.4) c\n(GLIBCXX_3.4.9) d\n(GLIBCXX_3.4.21) e\n';
  assert.equal(highestSymbolVersion(dump, 'GLIBC'), '2.28');
  assert.equal(highestSymbolVersion(dump, 'GLIBCXX'), '3.4.21');
  assert.equal(highestSymbolVersion('(GCC_3.0) f', 'GLIBC'), undefined);
  assert.equal(depends(dump), 'adduser, libc6 (>= 2.28), libgcc-s1, libstdc++6 (>= 5)');
  assert.throws(() => depends('(GLIBCXX_3.4.30) g'), /needs GLIBCXX_3\.4\.30/);
});

test('the packaged unit runs /usr/bin/fileupload and is otherwise the contrib unit', () => {
  const unit = packagedUnit(UNIT);
  assert.match(unit, /^ExecStart=\/usr\/bin\/fileupload --config \/etc\/fileupload\/openfire\.xml serve$/m);
  assert.doesNotMatch(unit, /\/usr\/local\/bin/);
  const directives = (u: string) => u.split('\n').filter((l) => !l.startsWith('#') && !l.startsWith('ExecStart='));
  assert.deepEqual(directives(unit), directives(UNIT));
  assert.throws(
    () => packagedUnit(UNIT.replace('/usr/local/bin/fileupload', '/opt/fileupload')),
    /update packagedUnit/,
  );
});

describe('npm run package', () => {
  const dirs = ['a', 'b', 'x'].map((n) => mkdtempSync(join(tmpdir(), `package-${n}-`)));
  const [out, again, extracted] = dirs as [string, string, string];
  const arch = execFileSync('dpkg', ['--print-architecture'], { encoding: 'utf8' }).trim();
  const deb = join(out, `fileupload_${debianVersion(pkg.version)}_${arch}.deb`);
  const folder = `fileupload-${pkg.version}-linux-x64`;
  const tarball = join(out, `${folder}.tar.gz`);
  const epoch = Number(
    process.env.SOURCE_DATE_EPOCH ??
      execFileSync('git', ['-C', ROOT, 'log', '-1', '--format=%ct'], { encoding: 'utf8' }),
  );
  // dpkg-deb and tar print times in the local time zone: UTC makes them comparable.
  const utc = { ...process.env, TZ: 'UTC' };
  const stamp = new Date(epoch * 1000).toISOString().slice(0, 16).replace('T', ' ');

  before(() => {
    for (const dir of [out, again]) {
      // Builds dist/fileupload first when missing or stale (the first run), then reuses it.
      execFileSync(NODE24, [join(ROOT, 'scripts', 'package.ts'), '--out', dir], { stdio: 'pipe' });
    }
    execFileSync('dpkg-deb', ['-x', deb, extracted]);
  });
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  interface Entry {
    mode: string;
    owner: string;
    time: string;
    path: string;
  }
  /** `tar -tv` lines (dpkg-deb -c prints the same) → entries. */
  function listing(text: string): Entry[] {
    return text
      .trim()
      .split('\n')
      .map((line) => {
        const m = /^(\S+) (\S+)\s+\d+ (\d{4}-\d\d-\d\d \d\d:\d\d) (.*)$/.exec(line);
        assert.ok(m, `unexpected listing line: ${line}`);
        return { mode: m[1]!, owner: m[2]!, time: m[3]!, path: m[4]! };
      });
  }
  /** A file of the .deb, from one extraction of it. */
  const debFile = (path: string): Buffer => readFileSync(join(extracted, path));

  test('writes the .deb, the tarball and SHA256SUMS, and nothing else', () => {
    assert.deepEqual(readdirSync(out).sort(), ['SHA256SUMS', basename(tarball), basename(deb)].sort());
  });

  test('control: name, version, architecture and Depends from the binary', () => {
    const field = (name: string) => execFileSync('dpkg-deb', ['-f', deb, name], { encoding: 'utf8' }).trim();
    assert.equal(field('Package'), 'fileupload');
    assert.equal(field('Version'), debianVersion(pkg.version));
    assert.equal(field('Architecture'), arch);
    assert.match(field('Depends'), /^adduser, libc6 \(>= 2\.\d+\), libgcc-s1, libstdc\+\+6 \(>= 5\)$/);
    assert.equal(field('Maintainer'), pkg.author);
    assert.equal(field('Description').split('\n')[0], pkg.description);
  });

  test('maintainer scripts are contrib/debian/*, executable; no conffiles', () => {
    const control = listing(
      execFileSync('sh', ['-c', 'dpkg-deb --ctrl-tarfile "$1" | tar -tvf -', 'sh', deb], {
        encoding: 'utf8',
        env: utc,
      }),
    );
    const byName = new Map(control.map((e) => [e.path.replace(/^\.\//, ''), e]));
    assert.deepEqual([...byName.keys()].filter((n) => n !== '').sort(), [
      'control',
      'md5sums',
      'postinst',
      'postrm',
      'prerm',
    ]);
    for (const script of ['postinst', 'prerm', 'postrm']) {
      assert.equal(byName.get(script)?.mode, '-rwxr-xr-x', script);
      const inDeb = execFileSync('sh', ['-c', 'dpkg-deb --ctrl-tarfile "$1" | tar -xOf - "./$2"', 'sh', deb, script]);
      assert.deepEqual(inDeb, readFileSync(join(ROOT, 'contrib', 'debian', script)), script);
    }
  });

  test('files, modes, root ownership and the last commit as every time stamp', () => {
    const entries = listing(execFileSync('dpkg-deb', ['-c', deb], { encoding: 'utf8', env: utc }));
    const files = new Map(entries.filter((e) => !e.mode.startsWith('d')).map((e) => [e.path, e.mode]));
    const pages = readdirSync(join(ROOT, 'man')).filter((f) => f.endsWith('.1'));
    const expected = new Map<string, string>([
      ['./usr/bin/fileupload', '-rwxr-xr-x'],
      ...pages.map((p): [string, string] => [`./usr/share/man/man1/${p}.gz`, '-rw-r--r--']),
      ['./usr/share/bash-completion/completions/fileupload', '-rw-r--r--'],
      ['./usr/share/zsh/vendor-completions/_fileupload', '-rw-r--r--'],
      ['./lib/systemd/system/fileupload.service', '-rw-r--r--'],
      ['./usr/share/doc/fileupload/copyright', '-rw-r--r--'],
      ['./usr/share/doc/fileupload/changelog.Debian.gz', '-rw-r--r--'],
      ['./usr/share/doc/fileupload/examples/fileupload.cron', '-rw-r--r--'],
    ]);
    assert.deepEqual(new Map([...files].sort()), new Map([...expected].sort()));
    for (const e of entries) {
      assert.equal(e.owner, 'root/root', e.path);
      assert.equal(e.time, stamp, e.path);
      if (e.mode.startsWith('d')) assert.equal(e.mode, 'drwxr-xr-x', e.path);
    }
  });

  test('the man pages, completions and unit in the .deb are the sources and the binary’s own', () => {
    for (const page of readdirSync(join(ROOT, 'man')).filter((f) => f.endsWith('.1'))) {
      assert.deepEqual(
        gunzipSync(debFile(`usr/share/man/man1/${page}.gz`)),
        readFileSync(join(ROOT, 'man', page)),
        page,
      );
    }
    for (const [shell, path] of [
      ['bash', 'usr/share/bash-completion/completions/fileupload'],
      ['zsh', 'usr/share/zsh/vendor-completions/_fileupload'],
    ] as const) {
      assert.equal(debFile(path).toString(), execFileSync(BINARY, ['completion', shell], { encoding: 'utf8' }), shell);
    }
    assert.equal(debFile('lib/systemd/system/fileupload.service').toString(), packagedUnit(UNIT));
    assert.deepEqual(debFile('usr/bin/fileupload'), readFileSync(BINARY));
  });

  test('the tarball holds the same files under one top folder, owned by root', () => {
    const inDeb = listing(execFileSync('dpkg-deb', ['-c', deb], { encoding: 'utf8', env: utc }));
    const inTar = listing(execFileSync('tar', ['-tvzf', tarball], { encoding: 'utf8', env: utc }));
    for (const e of inTar) {
      assert.ok(e.path.startsWith(`${folder}/`), e.path);
      assert.equal(e.owner, '0/0', e.path);
      assert.equal(e.time, stamp, e.path);
    }
    const shape = (entries: Entry[], prefix: string) =>
      entries.map((e) => `${e.mode} ${e.path.slice(prefix.length).replace(/\/$/, '')}`).sort();
    assert.deepEqual(shape(inTar, folder), shape(inDeb, '.'));
  });

  test('SHA256SUMS verifies both archives', () => {
    const r = spawnSync('sha256sum', ['-c', 'SHA256SUMS'], { cwd: out, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.equal(r.stdout, `${basename(deb)}: OK\n${basename(tarball)}: OK\n`);
  });

  test('a second run writes the same bytes', () => {
    assert.equal(readFileSync(join(again, 'SHA256SUMS'), 'utf8'), readFileSync(join(out, 'SHA256SUMS'), 'utf8'));
  });
});
