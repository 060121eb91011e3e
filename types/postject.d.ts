// postject ships no TypeScript types; this covers the one function scripts/build uses.
declare module 'postject' {
  /** Options of postject's `inject` (only the ones the build passes). */
  export interface InjectOptions {
    /** The fuse string whose trailing `:0` is flipped to `:1` once the resource is in. */
    sentinelFuse?: string;
    /** Mach-O only. */
    machoSegmentName?: string;
    /** Replace an existing resource of the same name instead of failing. */
    overwrite?: boolean;
  }
  /**
   * Injects `resourceData` as a named resource (an ELF note section on Linux) into `filename`.
   *
   * @example
   * await inject('dist/app', 'NODE_SEA_BLOB', blob, { sentinelFuse: 'NODE_SEA_FUSE_…' });
   */
  export function inject(
    filename: string,
    resourceName: string,
    resourceData: Buffer,
    options?: InjectOptions,
  ): Promise<void>;
}
