/**
 * Bounded parallelism for streamed work: a full scan of a large repository reads one header per
 * upload, and one read at a time leaves the thread pool (and the disk's queue) idle between
 * round trips. mapBounded keeps up to `limit` calls running and yields results as they finish,
 * in no particular order. Memory is bounded by construction: an item is pulled from the source
 * only while fewer than `limit` items are running or finished but not yet taken by the consumer,
 * so a slow consumer slows the source down instead of piling results up.
 */

type Settled<R> = { ok: true; value: R } | { ok: false; error: unknown };

/**
 * Maps `source` through `fn` with at most `limit` items between being pulled and being yielded.
 * A failing call (or source) ends the stream with its error once the calls still running have
 * settled; their results are dropped. Stopping early (break) also waits for them.
 *
 * @example
 * for await (const meta of mapBounded(names, 32, (name) => readHeader(name))) use(meta);
 */
export async function* mapBounded<T, R>(
  source: AsyncIterable<T> | Iterable<T>,
  limit: number,
  fn: (item: T) => Promise<R>,
): AsyncGenerator<R, void, undefined> {
  if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, not ${limit}`);
  const it =
    Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : (source as Iterable<T>)[Symbol.iterator]();
  const finished: Array<Settled<R>> = [];
  let running = 0;
  let exhausted = false;
  let wake: (() => void) | undefined;
  const settle = (s: Settled<R>): void => {
    running--;
    finished.push(s);
    wake?.();
    wake = undefined;
  };
  const waitForOne = (): Promise<void> => new Promise((resolve) => (wake = resolve));
  try {
    for (;;) {
      while (!exhausted && running + finished.length < limit) {
        const next = await it.next();
        if (next.done === true) {
          exhausted = true;
          break;
        }
        running++;
        const item = next.value;
        // Through a promise, so a call that throws at once fails like one that rejects.
        Promise.resolve()
          .then(() => fn(item))
          .then(
            (value) => settle({ ok: true, value }),
            (error: unknown) => settle({ ok: false, error }),
          );
      }
      const s = finished.shift();
      if (s === undefined) {
        if (running === 0) return;
        await waitForOne();
        continue;
      }
      if (!s.ok) throw s.error;
      yield s.value;
    }
  } finally {
    while (running > 0) await waitForOne();
    if (!exhausted) await it.return?.();
  }
}
