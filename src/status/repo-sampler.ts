/**
 * Keeps the live state's repository figures fresh: every so often asks the caller for the stored
 * bytes and files (from the inventory, never a scan here) and the filesystem for its free space.
 */
import { statfs } from 'node:fs/promises';
import type { LiveState } from './live.ts';

export interface RepoSamplerOptions {
  live: LiveState;
  /** The repository folder (fs storage): its filesystem gives free and total bytes. */
  repo?: string;
  /** Stored bytes and files, cheaply (e.g. the inventory's usage figures). */
  usage?: () => Promise<{ bytes: number; files?: number }>;
  /** Default 30 s. */
  intervalMs?: number;
  /** Told when a measurement fails (the figures then keep their last values). */
  onError?: (err: unknown) => void;
}

/**
 * Free and total bytes of the filesystem holding `path` (what an unprivileged user may use).
 *
 * @example
 * const { freeBytes, totalBytes } = await filesystemFigures('/var/lib/fileupload');
 */
export async function filesystemFigures(path: string): Promise<{ freeBytes: number; totalBytes: number }> {
  const s = await statfs(path);
  return { freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
}

/**
 * Measures now, then every `intervalMs` until stopped; `sample()` measures at once (after a purge).
 *
 * @example
 * const sampler = startRepoSampler({ live, repo: repository.path, usage: async () => ({ bytes, files }) });
 * // on shutdown: sampler.stop();
 */
export function startRepoSampler(options: RepoSamplerOptions): { sample(): Promise<void>; stop(): Promise<void> } {
  let running: Promise<void> | undefined;
  const sample = (): Promise<void> => {
    running ??= (async () => {
      try {
        const [usage, fs] = await Promise.all([
          options.usage?.(),
          options.repo !== undefined ? filesystemFigures(options.repo) : undefined,
        ]);
        options.live.repoStats({
          ...(usage ? { bytes: usage.bytes } : {}),
          ...(usage?.files !== undefined ? { files: usage.files } : {}),
          ...(fs ?? {}),
        });
      } catch (err) {
        options.onError?.(err);
      } finally {
        running = undefined;
      }
    })();
    return running;
  };
  void sample();
  const timer = setInterval(() => void sample(), options.intervalMs ?? 30_000);
  timer.unref();
  return {
    sample,
    // Waits for a measurement in flight: it may still be writing the index (usage totals) into
    // a repository that the caller is about to remove.
    stop: async () => {
      clearInterval(timer);
      await running;
    },
  };
}
