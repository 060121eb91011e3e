/**
 * The one grammar of a media type (RFC 9110 §8.3.1): the slot request's content-type is checked
 * with it when the slot is issued and the PUT's and the stored one when they are served, so a
 * type the XMPP side accepts is one the HTTP side can compare and send back as a header.
 */

// RFC 9110 token characters.
const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";

/**
 * token "/" token, then `; name=value` parameters (token or quoted-string) with only spaces and
 * tabs around them: no CR, LF or other control character anywhere. Groups 1 and 2: type and
 * subtype.
 *
 * @example
 * MEDIA_TYPE.test('text/plain; charset=utf-8'); // true
 * MEDIA_TYPE.test('text/plain;\r\nX: y');       // false
 */
export const MEDIA_TYPE = new RegExp(
  `^(${TOKEN})/(${TOKEN})[ \\t]*(;[ \\t]*${TOKEN}=(?:${TOKEN}|"(?:[^"\\\\\\x00-\\x1f\\x7f]|\\\\[\\t\\x20-\\x7e])*")[ \\t]*)*$`,
);
