import { test } from 'node:test';
import assert from 'node:assert/strict';
import { asciiFallback, contentDisposition, encodeRfc8187, isInlineType } from './disposition.ts';

test('images (not SVG), audio, video and plain text are inline; everything else is attachment', () => {
  for (const t of [
    'image/png',
    'IMAGE/JPEG',
    'image/webp',
    'audio/ogg',
    'video/mp4',
    'text/plain',
    'text/plain; charset=utf-8',
  ]) {
    assert.equal(isInlineType(t), true, t);
  }
  for (const t of [
    'image/svg+xml',
    'IMAGE/SVG+XML; charset=utf-8',
    'text/html',
    'application/xhtml+xml',
    'text/xml',
    'application/xml',
    'application/javascript',
    'text/javascript',
    'application/pdf',
    'application/octet-stream',
    'text/css',
    'garbage',
    '',
  ]) {
    assert.equal(isInlineType(t), false, t);
  }
});

test('filename* carries the exact name (RFC 8187), filename an ASCII fallback', () => {
  assert.equal(
    contentDisposition('Grüße.pdf', false),
    `attachment; filename="Gr__e.pdf"; filename*=UTF-8''Gr%C3%BC%C3%9Fe.pdf`,
  );
  assert.equal(contentDisposition('cat.png', true), `inline; filename="cat.png"; filename*=UTF-8''cat.png`);
  assert.equal(encodeRfc8187("it's (1) *.txt"), 'it%27s%20%281%29%20%2A.txt');
  assert.equal(encodeRfc8187('a;b,c"d'), 'a%3Bb%2Cc%22d');
});

test('the fallback cannot break out of its quotes or carry control characters', () => {
  assert.equal(asciiFallback('a"b\\c%41\r\nd'), 'a_b_c_41__d');
  assert.equal(asciiFallback('😀.png'), '_.png');
  assert.equal(asciiFallback(''), 'download');
});
