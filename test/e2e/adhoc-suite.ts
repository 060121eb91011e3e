/**
 * The ad-hoc commands (XEP-0050) end to end, with the fs store and with S3 (adhoc.test.ts,
 * adhoc-s3.test.ts): serve runs as the component of a real Prosody, uploads are made by a real
 * XMPP client, and the commands are run by an unmodified third-party client library, slixmpp's
 * xep_0050 plugin (Debian's python3-slixmpp; test/e2e/clients/slixmpp_commands.py). A user
 * lists and deletes her own uploads — gone at once: GET 410, a PUT of the slot 410 — and cannot
 * touch another user's; an admin lists and deletes a user's uploads; others get forbidden on the
 * admin commands.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { run } from '../../scripts/testservers/processes.ts';
import { startProsody } from '../../scripts/testservers/prosody.ts';
import type { XmppTestServer } from '../../scripts/testservers/server.ts';
import { adminToken } from '../../src/status/admin-auth.ts';
import { http, randomFile, sha256 } from '../support/http.ts';
import { REPO_ROOT, type ServeConfig } from '../support/serve.ts';
import { mustGetSlot, putToSlot, startStack, type SlotOk, type Stack } from '../support/stack.ts';
import { connectUser, NS_UPLOAD_0, type UserSession } from '../support/xmpp-client.ts';

/** Debian's python, where apt puts python3-slixmpp. */
const PYTHON = '/usr/bin/python3';
const SCRIPT = join(REPO_ROOT, 'test/e2e/clients/slixmpp_commands.py');

const USERS = [
  { user: 'alice', password: 'alice-pw' },
  { user: 'mallory', password: 'mallory-pw', host: 'elsewhere.localhost' },
  { user: 'carol', password: 'carol-pw' },
  { user: 'bob', password: 'bob-pw' },
];
type Who = 'alice' | 'mallory' | 'carol' | 'bob';

interface Field {
  var: string;
  type: string;
  label: string;
  values: string[];
  options: { label: string; value: string }[];
}
type StepOut =
  | { status: string; sessionid: string; notes: { type: string; text: string }[]; actions: string[]; fields: Field[] }
  | { error: { condition: string; type: string; text: string; specific: string | null } };
interface RunOut {
  commands: { node: string; name: string }[];
  steps: StepOut[];
}

const USER_NODES = ['my-uploads', 'delete-uploads', 'delete-all-my-uploads'];
const ADMIN_NODES = ['user-uploads', 'delete-user-uploads', 'statistics', 'take-down'];

/**
 * Registers the suite for one storage; `config` gives serve's storage properties (called in
 * before(), so a fixture may start there).
 *
 * @example
 * adhocSuite('fs', async () => ({}));
 */
export function adhocSuite(storage: string, config: () => Promise<ServeConfig>): void {
  describe(`ad-hoc commands through Prosody and slixmpp (${storage})`, () => {
    let server: XmppTestServer;
    let stack: Stack;
    let carol: UserSession;
    before(async () => {
      const probe = await run(PYTHON, ['-c', 'import slixmpp; print(slixmpp.__version__)']);
      assert.equal(probe.code, 0, `slixmpp is missing: apt-get install -y python3-slixmpp\n${probe.stderr}`);
      server = await startProsody({ users: USERS });
      stack = await startStack(server, { ...(await config()), adminJids: 'Bob@localhost' });
      carol = await connectUser({ port: server.c2sPort, domain: 'localhost', username: 'carol', password: 'carol-pw' });
    });
    after(async () => {
      await carol?.close();
      await stack?.stop();
      await server?.stop();
    });

    const commands = async (who: Who, node?: string, steps: object[] = []): Promise<RunOut> => {
      const u = server.users.find((x) => x.user === who)!;
      const args = [SCRIPT, `${u.user}@${u.host}`, u.password, String(server.c2sPort), stack.service];
      if (node !== undefined) args.push(node, JSON.stringify(steps));
      const r = await run(PYTHON, args, { timeoutMs: 120_000 });
      assert.equal(r.code, 0, `slixmpp failed:\n${r.stderr}`);
      return JSON.parse(r.stdout) as RunOut;
    };
    const upload = async (
      user: UserSession,
      filename: string,
      file = randomFile(2000),
    ): Promise<{ slot: SlotOk; file: Buffer }> => {
      const slot = await mustGetSlot(user, stack.service, {
        namespace: NS_UPLOAD_0,
        shape: 'attributes',
        filename,
        size: file.length,
      });
      const put = await putToSlot(slot, file);
      assert.equal(put.status, 201, put.body.toString());
      return { slot, file };
    };
    const last = (out: RunOut): StepOut => out.steps.at(-1)!;
    const errorOf = (step: StepOut) => ('error' in step ? step.error : undefined);
    const lines = (step: StepOut): string[] =>
      'fields' in step ? step.fields.filter((f) => f.var.startsWith('upload-')).flatMap((f) => f.values) : [];
    const idOf = (getUrl: string): string => new URL(getUrl).pathname.split('/').at(-2)!;
    const gone = async (slot: SlotOk, file: Buffer) => {
      const get = await http(slot.get);
      // Its slot still live: a tombstone, which a GET reports as removed.
      assert.equal(get.status, 410, `GET after deletion: ${get.status}`);
      const put = await putToSlot(slot, file);
      assert.equal(put.status, 410, put.body.toString());
    };

    it('announces the commands feature and lists the commands each JID may run: users three, admins seven, strangers none', async () => {
      const info = await stack.alice.discoInfo(stack.service);
      assert.ok(info.features.includes('http://jabber.org/protocol/commands'), info.features.join(' '));
      // slixmpp keeps disco items in a set: their order is its own.
      const nodes = async (who: Who) => (await commands(who)).commands.map((c) => c.node).sort();
      assert.deepEqual(await nodes('alice'), [...USER_NODES].sort());
      assert.deepEqual(await nodes('bob'), [...USER_NODES, ...ADMIN_NODES].sort());
      assert.deepEqual((await commands('mallory')).commands, []);
      const stranger = errorOf(last(await commands('mallory', 'my-uploads')));
      assert.equal(stranger?.condition, 'forbidden');
    });

    it('a non-admin gets forbidden on every admin command', async () => {
      for (const node of ADMIN_NODES) {
        const e = errorOf(last(await commands('alice', node)));
        assert.equal(e?.condition, 'forbidden', node);
      }
    });

    it("My uploads lists a user's own uploads newest first with the quota use, and nobody else's", async () => {
      await upload(stack.alice, 'older.txt');
      await upload(stack.alice, 'newer.txt');
      await upload(carol, 'carols.txt');
      const out = await commands('alice', 'my-uploads');
      const step = last(out);
      assert.ok('status' in step, JSON.stringify(step));
      assert.equal(step.status, 'completed');
      const shown = lines(step);
      const newer = shown.findIndex((l) => l.startsWith('newer.txt — '));
      const older = shown.findIndex((l) => l.startsWith('older.txt — '));
      assert.ok(newer !== -1 && older !== -1 && newer < older, shown.join('\n'));
      assert.ok(!shown.some((l) => l.startsWith('carols.txt')), "another user's upload is not listed");
      assert.match(shown[newer]!, / — message — kept until deleted$/);
      assert.ok(step.fields.some((f) => f.var === 'quota'));
    });

    it('Delete uploads removes the chosen ones at once (GET 410, PUT 410) and keeps the rest; the log names ids and who, no file names', async () => {
      const a = await upload(stack.alice, 'delete-me.txt');
      const b = await upload(stack.alice, 'keep-me.txt');
      const out = await commands('alice', 'delete-uploads', [
        { action: 'complete', choose: ['delete-me.txt'], values: { confirm: '1' } },
      ]);
      const done = last(out);
      assert.ok('status' in done, JSON.stringify(done));
      assert.equal(done.status, 'completed');
      assert.match(done.notes[0]?.text ?? '', /^Deleted 1 upload /);
      await gone(a.slot, a.file);
      assert.equal((await http(b.slot.get)).bodySha256, sha256(b.file));
      // The log line may follow the answer: waited for, bounded.
      const logged = await stack.serve.waitForLog(
        (l) => l.msg === 'uploads removed via ad-hoc command' && l.by === 'alice@localhost',
        { timeoutMs: 5000 },
      );
      assert.equal(logged.by, 'alice@localhost');
      assert.deepEqual(logged.ids, [idOf(a.slot.get)]);
      assert.doesNotMatch(JSON.stringify(logged), /delete-me\.txt/);
    });

    it("a user cannot delete another user's upload: item-not-found, and it stays", async () => {
      const c = await upload(carol, 'not-yours.txt');
      const out = await commands('alice', 'delete-uploads', [
        { action: 'complete', values: { uploads: [idOf(c.slot.get)], confirm: '1' } },
      ]);
      assert.equal(errorOf(last(out))?.condition, 'item-not-found');
      assert.equal((await http(c.slot.get)).bodySha256, sha256(c.file));
    });

    it('a gone session answers session-expired; an unknown action malformed-action', async () => {
      await upload(stack.alice, 'session.txt');
      const expired = await commands('alice', 'delete-uploads', [{ action: 'next', sessionid: 'gone-session' }]);
      assert.deepEqual(
        [errorOf(last(expired))?.condition, errorOf(last(expired))?.specific],
        ['not-allowed', 'session-expired'],
      );
      const malformed = await commands('alice', 'delete-uploads', [{ action: 'jump' }]);
      assert.deepEqual(
        [errorOf(last(malformed))?.condition, errorOf(last(malformed))?.specific],
        ['bad-request', 'malformed-action'],
      );
    });

    it('Delete all my uploads asks first, then removes every one of them', async () => {
      const a = await upload(stack.alice, 'all-1.txt');
      const b = await upload(stack.alice, 'all-2.txt');
      const declined = await commands('alice', 'delete-all-my-uploads', [
        { action: 'complete', values: { confirm: '0' } },
      ]);
      assert.deepEqual(
        declined.steps.map((s) => ('status' in s ? s.status : 'error')),
        ['executing', 'completed'],
      );
      assert.equal((await http(a.slot.get)).status, 200);
      const out = await commands('alice', 'delete-all-my-uploads', [{ action: 'complete', values: { confirm: '1' } }]);
      const done = last(out);
      assert.ok('status' in done && done.status === 'completed', JSON.stringify(done));
      await gone(a.slot, a.file);
      await gone(b.slot, b.file);
      const after = last(await commands('alice', 'my-uploads'));
      assert.deepEqual(lines(after), []);
    });

    it("an admin lists a user's uploads and deletes all of them; Statistics shows the figures", async () => {
      const c = await upload(carol, 'for-the-admin.txt');
      const listed = await commands('bob', 'user-uploads', [{ action: 'next', values: { jid: 'carol@localhost' } }]);
      const shown = lines(last(listed));
      assert.ok(
        shown.some((l) => l.startsWith('for-the-admin.txt — ')),
        JSON.stringify(listed.steps),
      );
      const bad = await commands('bob', 'user-uploads', [{ action: 'next', values: { jid: 'carol@localhost/phone' } }]);
      assert.deepEqual([errorOf(last(bad))?.condition, errorOf(last(bad))?.specific], ['bad-request', 'bad-payload']);
      const removed = await commands('bob', 'delete-user-uploads', [
        { action: 'next', values: { jid: 'carol@localhost' } },
        { action: 'complete', values: { confirm: 'true' } },
      ]);
      const done = last(removed);
      assert.ok('status' in done && done.status === 'completed', JSON.stringify(removed.steps));
      await gone(c.slot, c.file);
      const stats = last(await commands('bob', 'statistics'));
      assert.ok('status' in stats && stats.status === 'completed', JSON.stringify(stats));
      assert.deepEqual(stats.fields.map((f) => f.var).slice(0, 5), ['uploads', 'bytes', 'pending', 'disk', 'quotas']);
    });

    it('Take down by URL: every copy goes (GET 410), the same bytes are refused on a new slot (403), other bytes still upload', async () => {
      const bytes = randomFile(3000);
      const original = await upload(carol, 'taken-down.bin', bytes);
      const copy = await upload(stack.alice, 'forwarded.bin', bytes);
      const out = await commands('bob', 'take-down', [
        { action: 'complete', values: { url: original.slot.get, note: 'court order', confirm: 'true' } },
      ]);
      const done = last(out);
      assert.ok('status' in done && done.status === 'completed', JSON.stringify(out.steps));
      assert.match(
        done.notes[0]?.text ?? '',
        new RegExp(`^Taken down: 2 uploads deleted .*sha256 ${sha256(bytes)} is now blocked`),
      );
      assert.equal((await http(original.slot.get)).status, 410);
      assert.equal((await http(copy.slot.get)).status, 410);
      const again = await mustGetSlot(stack.alice, stack.service, {
        namespace: NS_UPLOAD_0,
        shape: 'attributes',
        filename: 'again.bin',
        size: bytes.length,
      });
      const refused = await putToSlot(again, bytes);
      assert.equal(refused.status, 403, refused.body.toString());
      assert.equal((await http(again.get)).status, 404, 'nothing was stored');
      await upload(stack.alice, 'other-bytes.bin');
      const notAdmin = errorOf(last(await commands('alice', 'take-down')));
      assert.equal(notAdmin?.condition, 'forbidden');
      const logged = await stack.serve.waitForLog((l) => l.msg === 'content taken down via ad-hoc command', {
        timeoutMs: 5000,
      });
      assert.equal(logged.by, 'bob@localhost');
      assert.equal(logged.sha256, sha256(bytes));
    });

    it("the admin API lists and deletes a user's uploads with the admin token only", async () => {
      const c = await upload(carol, 'via-api.txt');
      const api = `http://127.0.0.1:${String(stack.config.adminPort)}`;
      const auth = { authorization: `Bearer ${adminToken(String(stack.config.slotSecret))}` };
      assert.equal((await http(`${api}/uploads?user=carol@localhost`)).status, 401);
      assert.equal((await http(`${api}/uploads?user=carol@localhost`, { method: 'DELETE' })).status, 401);
      assert.equal((await http(`${api}/uploads?user=carol@localhost/phone`, { headers: auth })).status, 400);
      const listed = await http(`${api}/uploads?user=carol@localhost`, { headers: auth });
      assert.equal(listed.status, 200, listed.body.toString());
      const body = JSON.parse(listed.body.toString()) as { total: number; uploads: { id: string; filename: string }[] };
      assert.deepEqual(
        body.uploads.map((u) => u.filename),
        ['via-api.txt'],
      );
      const other = await http(`${api}/uploads?user=alice@localhost&id=${idOf(c.slot.get)}`, {
        method: 'DELETE',
        headers: auth,
      });
      assert.equal(other.status, 404, 'an id of another user is not found');
      assert.equal((await http(c.slot.get)).status, 200);
      const removed = await http(`${api}/uploads?user=carol@localhost&id=${idOf(c.slot.get)}`, {
        method: 'DELETE',
        headers: auth,
      });
      assert.equal(removed.status, 200, removed.body.toString());
      assert.deepEqual(
        (JSON.parse(removed.body.toString()) as { removed: { id: string }[] }).removed.map((r) => r.id),
        [idOf(c.slot.get)],
      );
      await gone(c.slot, c.file);
    });
  });
}
