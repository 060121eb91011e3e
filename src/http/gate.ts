/**
 * Tracks requests in flight so a shutdown can stop taking uploads, let running ones finish within
 * a bound, and abort what is left (aborted uploads remove their temp files); and which slots have
 * an upload running here, so a slot feeds one temp file at a time (claimSlot).
 *
 * @example
 * const gate = new RequestGate();
 * const finished = await gate.drain(30_000); // false: some uploads were aborted
 */
export class RequestGate {
  #draining = false;
  #uploads = new Set<AbortController>();
  /** Slots whose upload is running here, with a way to tell whether its client is still there. */
  #slots = new Map<string, RunningSlot>();
  #requests = 0;
  #idleWaiters: (() => void)[] = [];

  /** True once drain() was called: new uploads are refused with 503. */
  get draining(): boolean {
    return this.#draining;
  }

  /** Uploads currently receiving or publishing. */
  get activeUploads(): number {
    return this.#uploads.size;
  }

  /** Requests of any kind currently being answered. */
  get activeRequests(): number {
    return this.#requests;
  }

  /**
   * Registers an upload; undefined while draining. Call `end()` on its controller's behalf when done.
   *
   * @example
   * const ac = gate.beginUpload(); if (!ac) return reply(503);
   * try { await store.write(meta, body, { signal: ac.signal }); } finally { gate.endUpload(ac); }
   */
  beginUpload(): AbortController | undefined {
    if (this.#draining) return undefined;
    const ac = new AbortController();
    this.#uploads.add(ac);
    return ac;
  }

  endUpload(ac: AbortController): void {
    this.#uploads.delete(ac);
    this.#wake();
  }

  /**
   * Takes slot `id` for one upload on this node: a release function, or undefined while another
   * upload of that slot runs here (the caller answers 409). Release once the upload has ended and
   * its temp file is gone; releasing twice is harmless. `holder` tells a later PUT whether this
   * upload may give way to it (see waitAbandoned); a bare function is its clientGone.
   *
   * @example
   * const release = gate.claimSlot(slot.id, { clientGone: () => req.socket.destroyed, idleFor: () => 0, supersede: () => ac.abort() });
   * if (!release) return reply(409, 'upload in progress');
   * try { await store.write(...); } finally { release(); }
   */
  claimSlot(id: string, holder: SlotHolder | (() => boolean)): (() => void) | undefined {
    if (this.#slots.has(id)) return undefined;
    let ended!: () => void;
    const h: SlotHolder =
      typeof holder === 'function' ? { clientGone: holder, idleFor: () => 0, supersede: () => {} } : holder;
    const running: RunningSlot = { holder: h, ended: new Promise<void>((resolve) => (ended = resolve)) };
    this.#slots.set(id, running);
    return () => {
      if (this.#slots.get(id) === running) this.#slots.delete(id);
      ended();
    };
  }

  /**
   * When the upload holding slot `id` here has lost its client (it is removing its temp file),
   * or has received no body byte for `supersedeIdleMs` (its connection most likely dropped
   * without a word, as when a phone changes networks: the new PUT, with the same secret URL, is
   * the client's retry), stops it if need be and waits up to `timeoutMs` for it to end: the retry
   * gets the slot instead of a 409 until idleTimeout. Only one upload runs at any moment: the new
   * one starts after the old one's temp file is gone. Resolves true when the slot is free now.
   *
   * @example
   * const release = gate.claimSlot(id, holder) ?? ((await gate.waitAbandoned(id, 2_000)) ? gate.claimSlot(id, holder) : undefined);
   */
  async waitAbandoned(id: string, timeoutMs: number, supersedeIdleMs = SUPERSEDE_IDLE_MS): Promise<boolean> {
    const running = this.#slots.get(id);
    if (!running) return true;
    if (!running.holder.clientGone()) {
      if (!(running.holder.idleFor() >= supersedeIdleMs)) return false;
      running.holder.supersede();
    }
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([running.ended, gaveUp]);
    clearTimeout(timer);
    return !this.#slots.has(id);
  }

  /** Counts a request of any method (for the drain's "everything finished" check). */
  beginRequest(): void {
    this.#requests++;
  }

  endRequest(): void {
    this.#requests--;
    this.#wake();
  }

  /**
   * Stops taking uploads and waits until no request is in flight or `timeoutMs` passes; then
   * aborts the uploads still running. Resolves true when everything finished in time.
   *
   * @example
   * const clean = await gate.drain(settings.shutdownTimeout);
   */
  async drain(timeoutMs: number): Promise<boolean> {
    this.#draining = true;
    const idle = await this.#waitIdle(timeoutMs);
    if (!idle) for (const ac of this.#uploads) ac.abort(new Error('server shutting down'));
    return idle;
  }

  #isIdle(): boolean {
    return this.#uploads.size === 0 && this.#requests === 0;
  }

  /** Resolves true when idle, false on timeout. */
  #waitIdle(timeoutMs: number): Promise<boolean> {
    if (this.#isIdle()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(
        () => {
          this.#idleWaiters = this.#idleWaiters.filter((w) => w !== waiter);
          resolve(false);
        },
        Math.max(0, timeoutMs),
      );
      const waiter = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      this.#idleWaiters.push(waiter);
    });
  }

  /** Waits (bounded) for uploads to finish cleaning up after an abort. */
  async settle(timeoutMs: number): Promise<boolean> {
    return this.#waitIdle(timeoutMs);
  }

  #wake(): void {
    if (!this.#isIdle()) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of waiters) w();
  }
}

/** How long without a body byte an upload gives way to a new PUT of its slot (ms). */
export const SUPERSEDE_IDLE_MS = 5_000;

/** What the gate asks of an upload that holds its slot. */
export interface SlotHolder {
  /** Its client has gone: it is removing its temp file and about to release. */
  clientGone(): boolean;
  /** How long (ms) it has received no body byte; 0 while it is not receiving a body. */
  idleFor(): number;
  /** Stops it for a newer PUT of the slot (it removes its temp file, then releases). */
  supersede(): void;
}

/** An upload that holds its slot on this node. */
interface RunningSlot {
  holder: SlotHolder;
  ended: Promise<void>;
}
