/**
 * The errno code of a failure: Node's system errors (and some library errors) carry it as
 * `code` ('ENOENT', 'EACCES' …). Every layer may import this module.
 */

/**
 * The `code` of a thrown value, or undefined when it has none (a null or non-object throw too).
 *
 * @example
 * if (errCode(err) === 'ENOENT') return undefined;
 */
export function errCode(err: unknown): unknown {
  return (err as { code?: unknown } | null)?.code;
}
