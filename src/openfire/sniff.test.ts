import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sniffContentType } from './sniff.ts';

const bytes = (...parts: (string | number[])[]) =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));

test('magic bytes of what chat clients upload', () => {
  const cases: [Buffer, string][] = [
    [bytes('\x89PNG\r\n\x1a\n', [0, 0, 0, 13]), 'image/png'],
    [bytes([0xff, 0xd8, 0xff, 0xe0]), 'image/jpeg'],
    [bytes('GIF89a'), 'image/gif'],
    [bytes('GIF87a'), 'image/gif'],
    [bytes('RIFF', [1, 2, 3, 4], 'WEBPVP8 '), 'image/webp'],
    [bytes('RIFF', [1, 2, 3, 4], 'WAVEfmt '), 'audio/wav'],
    [bytes([0, 0, 0, 0x20], 'ftypisom'), 'video/mp4'],
    [bytes([0, 0, 0, 0x20], 'ftypmp42'), 'video/mp4'],
    [bytes([0, 0, 0, 0x20], 'ftypM4A '), 'audio/mp4'],
    [bytes([0, 0, 0, 0x14], 'ftypqt  '), 'video/quicktime'],
    [bytes([0, 0, 0, 0x18], 'ftypheic'), 'image/heic'],
    [bytes([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x82, 0x84], 'webm'), 'video/webm'],
    [bytes([0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x82, 0x88], 'matroska'), 'video/x-matroska'],
    [bytes('OggS', [0, 2], 'xxxxxxxxxxxxxxxxxxxxxx', 'OpusHead'), 'audio/ogg'],
    [bytes('OggS', [0, 2], 'xxxxxxxxxxxxxxxxxxxxxx', '\x80theora'), 'video/ogg'],
    [bytes('%PDF-1.7\n'), 'application/pdf'],
    [bytes('PK\x03\x04'), 'application/zip'],
    [bytes('ID3\x04'), 'audio/mpeg'],
    [bytes([0xff, 0xfb, 0x90, 0x64]), 'audio/mpeg'],
    [bytes([0xff, 0xf1, 0x50, 0x80]), 'audio/aac'],
    [bytes('fLaC'), 'audio/flac'],
    [bytes('#!AMR\n'), 'audio/amr'],
  ];
  for (const [head, type] of cases) assert.equal(sniffContentType(head), type, type);
});

test('the extension when the bytes say nothing, else application/octet-stream', () => {
  assert.equal(sniffContentType(bytes('hello'), 'Notes.TXT'), 'text/plain');
  assert.equal(sniffContentType(bytes('<svg'), 'logo.svg'), 'image/svg+xml');
  assert.equal(sniffContentType(bytes('%PDF-'), 'wrong.txt'), 'application/pdf', 'the bytes win');
  assert.equal(sniffContentType(bytes('hello'), 'noext'), 'application/octet-stream');
  assert.equal(sniffContentType(bytes('hello'), '.hidden'), 'application/octet-stream');
  assert.equal(sniffContentType(Buffer.alloc(0)), 'application/octet-stream');
  assert.equal(sniffContentType(bytes([0xff])), 'application/octet-stream', 'a lone 0xff is no frame');
  assert.equal(sniffContentType(bytes([0, 0, 0, 0x20], 'ftyp')), 'application/octet-stream', 'no brand');
});
