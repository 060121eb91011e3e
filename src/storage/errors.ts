/**
 * Errors every Store implementation throws, so the HTTP layer maps them to one status whatever the
 * backend is. Anything else a store throws is an internal error (500).
 */
import { errCode } from '../errno.ts';

/**
 * Base class: `status` is the HTTP status the endpoint answers with.
 *
 * @example
 * if (err instanceof StoreError) return textReply(err.status, err.message);
 */
export class StoreError extends Error {
  readonly status: number;
  constructor(message: string, status: number, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.status = status;
  }
}

/**
 * Something is already published under this id (a second PUT of one slot).
 *
 * @example
 * throw new UploadExistsError(id); // → 409
 */
export class UploadExistsError extends StoreError {
  readonly id: string;
  constructor(id: string) {
    super('an upload already exists for this slot', 409);
    this.id = id;
  }
}

/**
 * The upload of this id was removed (`slots rm`, doctor's probe): its tombstone refuses every
 * write of it while its slot could still be used (Store.tombstone). 410 rather than 403: the
 * slot itself is genuine, the answer says the upload is gone for good and a retry cannot help.
 *
 * @example
 * throw new UploadRemovedError(id); // → 410
 */
export class UploadRemovedError extends StoreError {
  readonly id: string;
  constructor(id: string) {
    super('upload removed', 410);
    this.id = id;
  }
}

/**
 * The body did not have exactly the announced size: `received` is what arrived before the check
 * fired (for "too long" that is the first count past `expected`; the rest is never read).
 *
 * @example
 * throw new SizeMismatchError(1000, 1001); // → 413
 */
export class SizeMismatchError extends StoreError {
  readonly expected: number;
  readonly received: number;
  constructor(expected: number, received: number) {
    super(
      received > expected
        ? `body is longer than the slot size of ${expected} bytes`
        : `body ended after ${received} of ${expected} bytes`,
      413,
    );
    this.expected = expected;
    this.received = received;
  }
}

/**
 * The storage is full (ENOSPC) or the user's disk quota is exhausted (EDQUOT).
 *
 * @example
 * if (code === 'ENOSPC') throw new StorageFullError({ cause: err }); // → 507
 */
export class StorageFullError extends StoreError {
  constructor(options?: { cause?: unknown }) {
    super('insufficient storage', 507, options);
  }
}

/**
 * The write was aborted by its signal (client went away, shutdown). Nothing was published.
 *
 * @example
 * if (signal.aborted) throw new UploadAbortedError();
 */
export class UploadAbortedError extends StoreError {
  constructor(options?: { cause?: unknown }) {
    // 499 is nginx's "client closed request"; it is only ever logged, never sent.
    super('upload aborted', 499, options);
  }
}

/**
 * The upload's inspector (WriteOptions.inspect: malware scanning) refused it: nothing was
 * published. `status` and `message` are the answer; `retryAfter`, in seconds, when the cause
 * passes (the scanner is unreachable).
 *
 * @example
 * throw new UploadRefusedError(422, 'upload refused: malware found (Eicar-Signature)');
 */
export class UploadRefusedError extends StoreError {
  readonly retryAfter: number | undefined;
  constructor(status: number, message: string, options?: { retryAfter?: number; cause?: unknown }) {
    super(message, status, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.retryAfter = options?.retryAfter;
  }
}

/**
 * An id that is not a slot id reached the store; storage refuses to build any path from it.
 *
 * @example
 * if (!isSlotId(id)) throw new InvalidIdError(id); // → 404
 */
export class InvalidIdError extends StoreError {
  constructor(id: string) {
    super(`not a slot id: ${JSON.stringify(id.slice(0, 40))}`, 404);
  }
}

/**
 * The repository is missing, not a directory, not writable, or not a fileupload repository.
 * `open()` throws it; serve turns it into a configuration error before listening.
 *
 * @example
 * throw new RepositoryError('/srv/upload does not exist');
 */
export class RepositoryError extends StoreError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 500, options);
  }
}

/**
 * True for the errno codes that mean "no space left" (disk full or quota).
 *
 * @example
 * if (isNoSpaceError(err)) throw new StorageFullError({ cause: err });
 */
export function isNoSpaceError(err: unknown): boolean {
  const code = errCode(err);
  return code === 'ENOSPC' || code === 'EDQUOT';
}
