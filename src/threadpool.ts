/**
 * The size of libuv's thread pool, which runs every file operation. Node's default of 4 means
 * that 4 uploads waiting in fdatasync (milliseconds each on a journalling file system) hold up
 * every open, close, link and read of everyone else; with more threads the waits overlap and the
 * file system commits them together. libuv reads UV_THREADPOOL_SIZE when the pool first starts,
 * so this module is imported first by main.ts; an operator's own setting is kept.
 *
 * @example
 * import './threadpool.ts'; // before anything that touches the file system asynchronously
 */
export const THREADPOOL_SIZE = 16;

process.env.UV_THREADPOOL_SIZE ??= String(THREADPOOL_SIZE);
