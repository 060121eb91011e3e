/**
 * Frees a request-body chunk as soon as it is on disk instead of when V8 next collects it.
 *
 * Node hands every piece of a request body over in a Buffer with its own ArrayBuffer, allocated
 * with malloc outside V8's heap. Once written it is garbage, but it is only freed when a
 * collection finds it dead, and V8 schedules collections by what JavaScript allocates, not by
 * these bytes: hundreds of slow uploads keep megabytes of written chunks alive between
 * collections, plus as much again in malloc free lists fragmented by the churn.
 * Detaching the ArrayBuffer (ArrayBuffer.prototype.transfer) frees its memory at once, and
 * malloc hands the same block to the next chunk.
 *
 * Only for chunks nobody else can see: the caller must own them (the HTTP layer passes its
 * request's chunks with `releaseChunks`; see Store.write).
 *
 * The price: the first detach in a process invalidates V8's "array buffer detaching" protector,
 * and optimized code that indexes typed arrays checks for detached buffers from then on, so a
 * loop over a Buffer's bytes gets slower. serve's hot paths are system calls and Node's C++
 * (llhttp, writev, crypto), not such loops: its request and slot rates stay the same in the
 * detached state, while the memory peak of many slow uploads drops (the figures:
 * scripts/bench/README.md, "Why the code is shaped this way").
 */

/** ArrayBuffer.prototype.transfer/detached (ES2024; the project's lib is ES2023). */
type Transferable = ArrayBuffer & { transfer?(newByteLength?: number): ArrayBuffer; detached?: boolean };

/**
 * Detaches (frees) the memory behind `chunk` when the chunk is the whole of its own
 * ArrayBuffer; a view into a shared buffer (Buffer's 8 KiB pool, a slice) is left alone. The
 * chunk reads as empty afterwards. True when freed.
 *
 * @example
 * writevSync(fd, chunks, position);
 * for (const c of chunks) releaseChunk(c);
 */
export function releaseChunk(chunk: Uint8Array): boolean {
  const ab = chunk.buffer as Transferable;
  if (!(ab instanceof ArrayBuffer) || ab.detached || typeof ab.transfer !== 'function') return false;
  if (chunk.byteOffset !== 0 || chunk.byteLength !== ab.byteLength || ab.byteLength === 0) return false;
  // A new length of 0 allocates nothing and detaches the old buffer, whose memory goes back to
  // malloc now (the same length would move the memory to a new ArrayBuffer instead).
  ab.transfer(0);
  return true;
}

/**
 * releaseChunk for each chunk of a written batch.
 *
 * @example
 * releaseChunks(pending);
 */
export function releaseChunks(chunks: readonly Uint8Array[]): void {
  for (const c of chunks) releaseChunk(c);
}
