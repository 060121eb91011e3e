/**
 * `fileupload config check` as a real process: exit 0 for a file serve accepts, 2 naming every
 * problem otherwise (text on stderr, `{ ok, file, problems }` with --json), and no network used.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN } from './support/config-cli.ts';

let dir = '';
let n = 0;
let xmpp: Server;
let connections = 0;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fu-check-'));
  // Where the XMPP server would be: the check must never connect to it.
  xmpp = createServer((s) => {
    connections++;
    s.destroy();
  });
  await new Promise<void>((resolve) => xmpp.listen(0, '127.0.0.1', resolve));
});
after(async () => {
  await new Promise((resolve) => xmpp.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

async function conf(props: string): Promise<string> {
  const file = join(dir, `c${n++}.xml`);
  const port = (xmpp.address() as AddressInfo).port;
  await writeFile(
    file,
    `<jive><plugin><httpfileupload><xmppHost>127.0.0.1</xmppHost><xmppPort>${port}</xmppPort>${props}</httpfileupload></plugin></jive>\n`,
    { mode: 0o600 },
  );
  return file;
}

function check(file: string, json = false): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env };
  delete env.FILEUPLOAD_CONFIG;
  const args = ['--config', file, ...(json ? ['--json'] : []), 'config', 'check'];
  return new Promise((resolve) => {
    execFile(BIN, args, { env, encoding: 'utf8', timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: unknown }).code) : 0, stdout, stderr });
    });
  });
}

const VALID = '<domain>upload.example.org</domain><sharedSecret>s3cret</sharedSecret>';

test('a file serve accepts: exit 0, "ok", nothing written, no connection', async () => {
  const file = await conf(VALID);
  const before = await readFile(file, 'utf8');
  const mtime = (await stat(file)).mtimeMs;
  const r = await check(file);
  assert.deepEqual(r, { code: 0, stdout: `${file}: ok\n`, stderr: '' });
  const j = await check(file, true);
  assert.equal(j.code, 0, j.stderr);
  assert.deepEqual(JSON.parse(j.stdout), { ok: true, file, problems: [], notes: [] });
  assert.equal(await readFile(file, 'utf8'), before);
  assert.equal((await stat(file)).mtimeMs, mtime);
  assert.equal(connections, 0);
});

test('missing domain and an invalid value are both named: exit 2', async () => {
  const file = await conf('<sharedSecret>s3cret</sharedSecret><maxFileSize>lots</maxFileSize>');
  const r = await check(file);
  assert.equal(r.code, 2);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, new RegExp(`^fileupload: ${file}: serve would refuse it:\n`));
  assert.match(r.stderr, /^ {2}plugin\.httpfileupload\.maxFileSize: "lots" is not a size/m);
  assert.match(r.stderr, /^ {2}plugin\.httpfileupload\.domain: is required but not set/m);
  const j = await check(file, true);
  assert.equal(j.code, 2);
  const out = JSON.parse(j.stdout) as { ok: boolean; file: string; problems: { property: string }[] };
  assert.deepEqual(
    [out.ok, out.file, out.problems.map((p) => p.property)],
    [false, file, ['plugin.httpfileupload.maxFileSize', 'plugin.httpfileupload.domain']],
  );
  assert.equal(connections, 0);
});

test('a rule between properties: clamavEnabled with s3UploadMode direct is refused', async () => {
  const file = await conf(
    `${VALID}<storage>s3</storage><s3Bucket>uploads</s3Bucket><s3Endpoint>http://127.0.0.1:1</s3Endpoint>` +
      '<s3UploadMode>direct</s3UploadMode><clamavEnabled>true</clamavEnabled>',
  );
  const r = await check(file, true);
  assert.equal(r.code, 2, r.stderr);
  const out = JSON.parse(r.stdout) as { problems: { property: string; message: string }[] };
  assert.equal(out.problems.length, 1);
  assert.equal(out.problems[0]!.property, 'plugin.httpfileupload.clamavEnabled');
  assert.match(out.problems[0]!.message, /s3UploadMode is direct/);
});

test('an encrypted value that does not decrypt is named', async () => {
  const file = await conf('<domain>upload.example.org</domain><sharedSecret encrypted="true">00ff00ff</sharedSecret>');
  const r = await check(file, true);
  assert.equal(r.code, 2, r.stderr);
  const out = JSON.parse(r.stdout) as { problems: { property: string }[] };
  assert.deepEqual(
    out.problems.map((p) => p.property),
    ['plugin.httpfileupload.sharedSecret'],
  );
});

test('malformed XML and a missing file: exit 2 with the reason', async () => {
  const bad = join(dir, 'malformed.xml');
  await writeFile(bad, '<jive><plugin>\n');
  const r = await check(bad);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /malformed\.xml:1:7: malformed configuration: <plugin> is never closed/);
  const missing = join(dir, 'missing.xml');
  const m = await check(missing, true);
  assert.equal(m.code, 2);
  assert.deepEqual(JSON.parse(m.stdout), {
    ok: false,
    file: missing,
    problems: [{ message: 'file not found' }],
    notes: [],
  });
  await assert.rejects(stat(missing), { code: 'ENOENT' });
});

test('a cluster node: the shared document in the repository counts, one in the bucket is not fetched', async () => {
  const repo = join(dir, 'repo');
  await mkdir(join(repo, 'cluster'), { recursive: true });
  await writeFile(
    join(repo, 'cluster', 'openfire.xml'),
    `<jive><plugin><httpfileupload>${VALID}</httpfileupload></plugin></jive>\n`,
  );
  const fsNode = await conf(`<cluster>true</cluster><fileRepo>${repo}</fileRepo>`);
  const r = await check(fsNode, true);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  // The bucket's endpoint is the listener that counts connections: none may arrive.
  const port = (xmpp.address() as AddressInfo).port;
  const s3Node = await conf(
    `<cluster>true</cluster><storage>s3</storage><s3Bucket>uploads</s3Bucket><s3Endpoint>http://127.0.0.1:${port}</s3Endpoint>`,
  );
  const s = await check(s3Node, true);
  assert.equal(s.code, 0, s.stdout + s.stderr);
  const out = JSON.parse(s.stdout) as { ok: boolean; notes: string[] };
  assert.equal(out.ok, true);
  assert.match(out.notes[0] ?? '', /shared configuration in the bucket .* was not read/);
  assert.equal(s.stderr, '', 'under --json the notes are in the report');
  const text = await check(s3Node, false);
  assert.match(text.stderr, /^fileupload: note: the shared configuration in the bucket/m);
  assert.equal(connections, 0);
});
