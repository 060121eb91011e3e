/**
 * A content type for a stored body from its first bytes, then a file name's extension, else
 * application/octet-stream. The Openfire plugin stores bodies without their names or types, so
 * for its files the magic bytes are all there is; the table covers what chat clients upload.
 */

/** How many leading bytes {@link sniffContentType} looks at. */
export const SNIFF_BYTES = 64;

const OCTET_STREAM = 'application/octet-stream';

const ascii = (bytes: Uint8Array, at: number, text: string): boolean => {
  if (bytes.length < at + text.length) return false;
  for (let i = 0; i < text.length; i++) if (bytes[at + i] !== text.charCodeAt(i)) return false;
  return true;
};

/** ISO base media file (`ftyp` box) major brands → type; any other brand is MP4 video. */
const FTYP_BRANDS: Record<string, string> = {
  'M4A ': 'audio/mp4',
  'M4B ': 'audio/mp4',
  'qt  ': 'video/quicktime',
  '3gp4': 'video/3gpp',
  '3gp5': 'video/3gpp',
  '3gp6': 'video/3gpp',
  '3g2a': 'video/3gpp2',
  heic: 'image/heic',
  heix: 'image/heic',
  mif1: 'image/heif',
  avif: 'image/avif',
};

/** Extension (lower case, no dot) → type, for when the bytes say nothing. */
const EXTENSIONS: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  heic: 'image/heic',
  avif: 'image/avif',
  svg: 'image/svg+xml',
  mp4: 'video/mp4',
  m4v: 'video/mp4',
  mov: 'video/quicktime',
  webm: 'video/webm',
  mkv: 'video/x-matroska',
  '3gp': 'video/3gpp',
  ogg: 'audio/ogg',
  oga: 'audio/ogg',
  opus: 'audio/ogg',
  ogv: 'video/ogg',
  m4a: 'audio/mp4',
  mp3: 'audio/mpeg',
  aac: 'audio/aac',
  flac: 'audio/flac',
  wav: 'audio/wav',
  amr: 'audio/amr',
  pdf: 'application/pdf',
  zip: 'application/zip',
  gz: 'application/gzip',
  txt: 'text/plain',
  json: 'application/json',
  vcf: 'text/vcard',
};

/**
 * The content type of a body from its leading bytes (see {@link SNIFF_BYTES}), else from the
 * extension of `fileName`, else application/octet-stream.
 *
 * @example
 * sniffContentType(Buffer.from('%PDF-1.7\n'));           // 'application/pdf'
 * sniffContentType(Buffer.from('plain'), 'notes.txt');   // 'text/plain'
 * sniffContentType(Buffer.alloc(0));                     // 'application/octet-stream'
 */
export function sniffContentType(head: Uint8Array, fileName?: string): string {
  return magicType(head) ?? extensionType(fileName) ?? OCTET_STREAM;
}

function magicType(b: Uint8Array): string | undefined {
  if (ascii(b, 0, '\x89PNG\r\n\x1a\n')) return 'image/png';
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'image/jpeg';
  if (ascii(b, 0, 'GIF87a') || ascii(b, 0, 'GIF89a')) return 'image/gif';
  if (ascii(b, 0, 'RIFF') && ascii(b, 8, 'WEBP')) return 'image/webp';
  if (ascii(b, 0, 'RIFF') && ascii(b, 8, 'WAVE')) return 'audio/wav';
  if (ascii(b, 4, 'ftyp') && b.length >= 12) {
    const brand = String.fromCharCode(...b.subarray(8, 12));
    return FTYP_BRANDS[brand] ?? 'video/mp4';
  }
  if (b[0] === 0x1a && b[1] === 0x45 && b[2] === 0xdf && b[3] === 0xa3)
    return includes(b, 'webm') ? 'video/webm' : 'video/x-matroska';
  if (ascii(b, 0, 'OggS')) return includes(b, 'theora') ? 'video/ogg' : 'audio/ogg';
  if (ascii(b, 0, '%PDF-')) return 'application/pdf';
  if (ascii(b, 0, 'PK\x03\x04')) return 'application/zip';
  if (b[0] === 0x1f && b[1] === 0x8b) return 'application/gzip';
  if (ascii(b, 0, 'fLaC')) return 'audio/flac';
  if (ascii(b, 0, '#!AMR')) return 'audio/amr';
  if (ascii(b, 0, 'ID3')) return 'audio/mpeg';
  // Frame sync: 11 set bits. Layer bits 00 is AAC in ADTS framing; anything else is MPEG audio.
  if (b[0] === 0xff && b[1] !== undefined && (b[1] & 0xe0) === 0xe0)
    return (b[1] & 0x06) === 0 ? 'audio/aac' : 'audio/mpeg';
  return undefined;
}

function includes(b: Uint8Array, text: string): boolean {
  return Buffer.from(b.buffer, b.byteOffset, b.length).includes(text, 0, 'latin1');
}

function extensionType(fileName: string | undefined): string | undefined {
  if (fileName === undefined) return undefined;
  const dot = fileName.lastIndexOf('.');
  if (dot <= 0 || dot === fileName.length - 1) return undefined;
  return EXTENSIONS[fileName.slice(dot + 1).toLowerCase()];
}
