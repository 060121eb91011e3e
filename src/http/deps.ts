import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Settings } from '../config/settings.ts';
import type { Logger } from '../log.ts';
import type { Store } from '../storage/store.ts';
import type { SlotClaims } from '../lock/slot-claims.ts';
import type { RequestGate } from './gate.ts';
import type { HttpHooks } from './hooks.ts';

/** What every method handler gets (built once by createHttpApp). */
export interface HttpDeps {
  settings: Settings;
  store: Store;
  logger: Logger;
  now: () => number;
  hooks: HttpHooks;
  gate: RequestGate;
  /** Cluster mode: slot claims shared by every node (one upload per slot across nodes). */
  claims?: SlotClaims | undefined;
  /** settings.slotSecret, checked present. */
  secret: string;
  /** settings.announcedWebContextRoot without a trailing slash. */
  root: string;
  /** Logs the outcome of one request and tells the onRequest hook. */
  record(outcome: RequestOutcome): void;
}

/**
 * A route's handler (app.ts): it answers on the Node request/response itself. `started` is when
 * the request was taken (performance.now()). A rejection or throw is answered 500 by the app.
 */
export type NodeHandler = (req: IncomingMessage, res: ServerResponse, started: number) => Promise<void> | void;

/** One request's outcome, as logged (never the body, never the token). */
export interface RequestOutcome {
  method: string;
  status: number;
  /** Body bytes received (PUT) or sent (GET). */
  bytes: number;
  /** performance.now() at the start. */
  started: number;
  id?: string | undefined;
  reason?: string | undefined;
  remote?: string | undefined;
}

/**
 * Calls a hook without letting it break the request.
 *
 * @example
 * callHook(logger, 'onUploadStarted', hooks.onUploadStarted, { id, size, uploader });
 */
export function callHook<T>(logger: Logger, name: string, fn: ((e: T) => void) | undefined, event: T): void {
  if (!fn) return;
  try {
    fn(event);
  } catch (err) {
    logger.error('hook failed', { hook: name, err });
  }
}
