import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UploadRefusedError } from '../storage/errors.ts';
import type { InspectionFeed, UploadInspector, UploadMeta } from '../storage/store.ts';
import { inspectAll } from './scan.ts';

const meta = { id: 'AAAAAAAAAAAAAAAAAAAAAAAA', size: 3 } as UploadMeta;

/** An inspector that records what it sees and refuses when told to. */
function recording(name: string, seen: string[], refuse = false): UploadInspector {
  const no = (): never => {
    throw new UploadRefusedError(403, `${name} refuses`);
  };
  return {
    async inspectFile(_m, path, start) {
      seen.push(`${name}:file:${path}:${start}`);
      if (refuse) no();
    },
    inspectStream(): InspectionFeed {
      return {
        async push(chunk) {
          seen.push(`${name}:push:${Buffer.from(chunk).toString()}`);
        },
        async end() {
          seen.push(`${name}:end`);
          if (refuse) no();
        },
        abort() {
          seen.push(`${name}:abort`);
        },
      };
    },
  };
}

test('none is no inspector; one is itself', () => {
  assert.equal(inspectAll([]), undefined);
  const one = recording('a', []);
  assert.equal(inspectAll([one]), one);
});

test('a file: each inspector in turn; the first refusal refuses and the next never runs', async () => {
  const seen: string[] = [];
  await inspectAll([recording('hash', seen), recording('clamd', seen)])!.inspectFile(meta, '/t', 9);
  assert.deepEqual(seen, ['hash:file:/t:9', 'clamd:file:/t:9']);
  seen.length = 0;
  await assert.rejects(
    inspectAll([recording('hash', seen, true), recording('clamd', seen)])!.inspectFile(meta, '/t', 9),
    /hash refuses/,
  );
  assert.deepEqual(seen, ['hash:file:/t:9'], 'blocked content is never sent to clamd');
});

test('a stream: every chunk to each feed; a refusal at the end aborts the feeds after it', async () => {
  const seen: string[] = [];
  const feed = inspectAll([recording('hash', seen, true), recording('clamd', seen)])!.inspectStream(meta);
  await feed.push(Buffer.from('ab'));
  await feed.push(Buffer.from('c'));
  await assert.rejects(feed.end(), /hash refuses/);
  assert.deepEqual(seen, ['hash:push:ab', 'clamd:push:ab', 'hash:push:c', 'clamd:push:c', 'hash:end', 'clamd:abort']);
  seen.length = 0;
  const ok = inspectAll([recording('hash', seen), recording('clamd', seen)])!.inspectStream(meta);
  await ok.end();
  ok.abort();
  assert.deepEqual(seen, ['hash:end', 'clamd:end', 'hash:abort', 'clamd:abort']);
});
