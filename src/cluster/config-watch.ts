/**
 * Polls the cluster's shared configuration and asks serve to re-read its configuration when the
 * document changed: dynamic properties then apply without a restart, restart-only ones are
 * logged as needing one (serve's reload does both). One open + fstat per poll.
 */
import { lastReadVersion, type SharedConfigStore } from './shared-config/store.ts';

export interface SharedConfigWatchOptions {
  store: Pick<SharedConfigStore, 'location' | 'version'>;
  /** Re-reads the configuration (serve.reload); it reads the store again, which records the new version. */
  onChange: () => Promise<void>;
  /** A poll failed (the shared folder is unreachable, say); polling goes on. */
  onError?: (err: unknown) => void;
  /** Poll interval (ms); default 3000. */
  interval?: number;
}

/** A running watch. */
export interface SharedConfigWatch {
  stop(): void;
  /** One poll now (tests); resolves when any reload it started is done. */
  poll(): Promise<void>;
}

/**
 * Starts polling. The reference is the version this process last read (what serve runs with), so
 * a change made between serve's start and the first poll is not missed. A version whose reload
 * failed (a malformed document: serve logs it and keeps its configuration) is not retried until
 * the document changes again.
 *
 * @example
 * const watch = watchSharedConfig({ store, onChange: () => serve.reload() });
 * // at shutdown:
 * watch.stop();
 */
export function watchSharedConfig(options: SharedConfigWatchOptions): SharedConfigWatch {
  const { store, onChange } = options;
  const interval = options.interval ?? 3000;
  let failed: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let running: Promise<void> | undefined;

  const pollOnce = async (): Promise<void> => {
    const version = await store.version();
    if (version === lastReadVersion(store.location) || version === failed) return;
    await onChange();
    failed = lastReadVersion(store.location) === version ? undefined : version;
  };
  const poll = (): Promise<void> => {
    running ??= pollOnce()
      .catch((err: unknown) => options.onError?.(err))
      .finally(() => {
        running = undefined;
      });
    return running;
  };
  const loop = () => {
    if (stopped) return;
    timer = setTimeout(() => void poll().then(loop), interval);
    timer.unref();
  };
  loop();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
    poll,
  };
}
