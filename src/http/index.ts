/**
 * The HTTP endpoint: the Hono app with its routes (app.ts) and the Node server that runs it
 * (server.ts).
 */
export { createHttpApp, type HttpApp, type HttpAppOptions, type HttpEnv } from './app.ts';
export type { HttpHooks } from './hooks.ts';
export { startHttpServer, type HttpServer } from './server.ts';
export { loadNodeAdapter } from './node-adapter.ts';
