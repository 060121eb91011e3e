/**
 * What makes a slot request's filename unusable. The filename becomes the last path segment of
 * both URLs and the name clients save the download under, so it must be one plain segment.
 */

/** XEP-0363 1.1 counts the filename in bytes; 255 is what common filesystems allow. */
export const MAX_FILENAME_BYTES = 255;

// C0 controls (NUL, tab, newline…), DEL and C1 controls.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
// Bidirectional overrides and isolates: they make "gpj.exe" display as "exe.jpg" in clients,
// file managers and `slots ls`; ordinary right-to-left names do not need them.
const BIDI_CONTROL = /[\u202a-\u202e\u2066-\u2069]/;
// A surrogate half without its partner cannot be UTF-8 encoded (and percent-encoding throws).
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Returns why `filename` is refused, or undefined when it is fine.
 * '.' and '..' are refused because URL normalisation (clients, proxies) would resolve them away.
 *
 * @example
 * filenameProblem('a/b.txt'); // 'the filename contains "/"'
 * filenameProblem('photo.jpg'); // undefined
 */
export function filenameProblem(filename: string): string | undefined {
  if (filename === '') return 'the filename is empty';
  if (filename.includes('/')) return 'the filename contains "/"';
  if (filename.includes('\\')) return 'the filename contains "\\"';
  if (filename.includes('\u0000')) return 'the filename contains NUL';
  if (CONTROL.test(filename)) return 'the filename contains a control character';
  if (LONE_SURROGATE.test(filename)) return 'the filename is not valid Unicode';
  if (BIDI_CONTROL.test(filename)) return 'the filename contains a bidirectional override';
  if (filename === '.' || filename === '..') return `the filename "${filename}" is not a file name`;
  const bytes = Buffer.byteLength(filename, 'utf8');
  if (bytes > MAX_FILENAME_BYTES)
    return `the filename is ${bytes} bytes long (at most ${MAX_FILENAME_BYTES} UTF-8 bytes)`;
  return undefined;
}
