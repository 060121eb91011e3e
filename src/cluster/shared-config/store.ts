/**
 * The cluster's shared configuration: one openfire.xml-format document that every node of a
 * cluster reads, in the place the nodes share: the repository folder (fs.ts) or, for nodes that
 * share nothing but an S3 bucket, the bucket (s3.ts). Callers see only this interface.
 */
import type { XmlDocument } from '../../config/openfire-xml.ts';

/** A place all nodes read the cluster-wide properties from. */
export interface SharedConfigStore {
  /** Where it is, for messages (`/srv/upload/cluster/openfire.xml`, `s3://bucket/prefix/…`). */
  readonly location: string;
  /**
   * The document (undefined when there is none yet) and the version it was read at. Throws
   * ConfigSyntaxError (with line:column) for a malformed document.
   */
  read(): Promise<{ doc: XmlDocument | undefined; version: string }>;
  /**
   * A cheap token that changes whenever the document is replaced (`absent` when there is none).
   * On NFS it opens the file, so close-to-open consistency shows a change made on another node.
   */
  version(): Promise<string>;
  /** Sets a dotted property (the caller validated the value). */
  set(dotted: string, value: string): Promise<void>;
  /** Removes a dotted property; false when it was not set. */
  unset(dotted: string): Promise<boolean>;
  /** Sets the property unless it has a value already; returns the value it has afterwards. */
  setIfAbsent(dotted: string, value: string): Promise<string>;
}

/** Folder of the shared place (`{fileRepo}/`, `{s3Prefix}`) that holds everything the nodes of a cluster share besides uploads. */
export const CLUSTER_DIR = 'cluster';

/** The version this process last read, per location (so a watcher starts from what serve loaded). */
const lastRead = new Map<string, string>();

/**
 * Notes the version of the document at `location` that this process has just read (every
 * implementation's read() calls it).
 *
 * @example
 * recordRead(this.location, version);
 */
export function recordRead(location: string, version: string): void {
  lastRead.set(location, version);
}

/**
 * The version of the shared document at `location` that this process read last, if any.
 *
 * @example
 * if ((await store.version()) !== lastReadVersion(store.location)) await reload();
 */
export function lastReadVersion(location: string): string | undefined {
  return lastRead.get(location);
}
