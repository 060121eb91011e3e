import { test } from 'node:test';
import assert from 'node:assert/strict';
import { answerSorter, attr, scanIqs } from './xmpp-slots.ts';

test('attr reads either quote style', () => {
  assert.equal(attr(`<iq type='result' id='s1'>`, 'id'), 's1');
  assert.equal(attr(`<iq type="error" id="s2">`, 'type'), 'error');
  assert.equal(attr(`<iq type='result'>`, 'id'), undefined);
});

test('scanIqs finds complete iq start tags and keeps a tag split across reads', () => {
  const first = scanIqs(
    `<iq type='result' id='s1' from='upload.localhost'><slot><put url='x'/></slot></iq><iq type='err`,
  );
  assert.deepEqual(first.tags, [`<iq type='result' id='s1' from='upload.localhost'>`]);
  const second = scanIqs(first.rest + `or' id='s2'/>`);
  assert.deepEqual(second.tags, [`<iq type='error' id='s2'/>`]);
  assert.equal(second.rest, '');
});

test('scanIqs also finds <error> start tags, in stream order, and keeps one split across reads', () => {
  const first = scanIqs(`<iq type='error' id='s3'><request xmlns='urn:xmpp:http:upload:0'/><err`);
  assert.deepEqual(first.tags, [`<iq type='error' id='s3'>`]);
  const second = scanIqs(first.rest + `or type='wait'><resource-constraint/></error></iq><iq type='result' id='s4'/>`);
  assert.deepEqual(second.tags, [`<error type='wait'>`, `<iq type='result' id='s4'/>`]);
});

test('answers are sorted into slots, refusals (error type wait) and errors; only measured ids count', () => {
  const seen: string[] = [];
  const answers = answerSorter((kind, id, tags) => seen.push(`${kind} ${id} ${tags}`));
  for (const tag of [
    `<iq type='result' id='w0'>`, // warm-up: not measured
    `<iq type='result' id='s1'>`,
    `<iq type='error' id='s2'>`,
    `<error type='wait'>`,
    `<iq type='error' id='s3'>`,
    `<error type="cancel">`,
    `<iq type='error' id='s4'>`, // no <error> child: settled by the next iq
    `<iq type='error' id='s5'>`,
    `<error type='modify'>`,
    `<error type='wait'>`, // stray: belongs to no held answer
    `<iq type='error' id='s6'>`,
  ])
    answers.feed(tag);
  assert.deepEqual(seen, [
    `slot s1 <iq type='result' id='s1'>`,
    `refused s2 <iq type='error' id='s2'><error type='wait'>`,
    `error s3 <iq type='error' id='s3'><error type="cancel">`,
    `error s4 <iq type='error' id='s4'>`,
    `error s5 <iq type='error' id='s5'><error type='modify'>`,
  ]);
  answers.flush();
  assert.equal(seen.at(-1), `error s6 <iq type='error' id='s6'>`);
  answers.flush();
  assert.equal(seen.length, 6);
});
