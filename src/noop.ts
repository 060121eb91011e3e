/**
 * The do-nothing callback, for best-effort cleanup whose failure does not matter or is observed
 * elsewhere (`.catch(noop)`), and for an optional hook left unset. Every layer may import it.
 */

/** Does nothing. */
export const noop = (): void => {};
