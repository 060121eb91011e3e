/**
 * @hono/node-server, loaded on first use. It turns a Node request into a Web Request for
 * `app.fetch`, and loading it loads Node's fetch implementation (undici) behind the Web classes,
 * the largest single part of serve's start-up. The upload and download routes never go through
 * it (src/http/app.ts), so serve listens without it, loads it once it is ready, and a request
 * that needs it before that waits for it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** What the HTTP endpoint and the admin API take from @hono/node-server. */
export interface NodeAdapter {
  getRequestListener: typeof import('@hono/node-server').getRequestListener;
  RequestError: typeof import('@hono/node-server').RequestError;
  /** What a Hono handler returns when it has answered on the Node response itself. */
  RESPONSE_ALREADY_SENT: Response;
}

let loaded: NodeAdapter | undefined;
let loading: Promise<NodeAdapter> | undefined;

/**
 * Loads @hono/node-server once; later calls get the same promise.
 *
 * @example
 * setImmediate(() => void loadNodeAdapter()); // after "ready"
 */
export function loadNodeAdapter(): Promise<NodeAdapter> {
  loading ??= Promise.all([import('@hono/node-server'), import('@hono/node-server/utils/response')]).then(
    ([server, response]) =>
      (loaded = {
        getRequestListener: server.getRequestListener,
        RequestError: server.RequestError,
        RESPONSE_ALREADY_SENT: response.RESPONSE_ALREADY_SENT,
      }),
  );
  return loading;
}

/**
 * The loaded adapter, for code that runs only inside a listener made by {@link lazyRequestListener}
 * (a Hono handler returning RESPONSE_ALREADY_SENT): it is loaded by then.
 *
 * @example
 * app.notFound((c) => { answer(c.env.outgoing); return nodeAdapter().RESPONSE_ALREADY_SENT; });
 */
export function nodeAdapter(): NodeAdapter {
  if (loaded === undefined) throw new Error('@hono/node-server is used before it was loaded');
  return loaded;
}

/** A Node request listener that settles when the request is answered (getRequestListener's shape). */
export type AsyncRequestListener = (req: IncomingMessage, res: ServerResponse) => Promise<unknown>;

/**
 * A request listener made by `make` once @hono/node-server is loaded (the first call loads it).
 *
 * @example
 * const viaHono = lazyRequestListener(({ getRequestListener }) => getRequestListener(app.fetch));
 * server.on('request', (req, res) => void viaHono(req, res));
 */
export function lazyRequestListener(make: (adapter: NodeAdapter) => AsyncRequestListener): AsyncRequestListener {
  let listener: AsyncRequestListener | undefined;
  return (req, res) => {
    if (listener !== undefined) return listener(req, res);
    return loadNodeAdapter().then((adapter) => {
      listener ??= make(adapter);
      return listener(req, res);
    });
  };
}
