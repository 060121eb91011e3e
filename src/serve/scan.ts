/**
 * Malware scanning in serve: while clamavEnabled, every upload is scanned by clamd after its
 * body is complete and before it is published, through the store's inspection hook
 * (storage/store.ts UploadInspector) — the fs store scans its finished temp file (so the splice
 * path stays), the S3 store the bytes as they pass on to the bucket. What a verdict leads to is
 * scan/policy.ts's; this file wires it to the settings, the log and the counters.
 *
 * The properties are read at every upload (a reload applies to the next one); the clamd client,
 * which holds the bound on concurrent scans, is made anew only when its properties change.
 */
import type { Settings } from '../config/settings.ts';
import type { Logger } from '../log.ts';
import { ClamdClient, clamdVersion, type ClamdClientOptions, type ScanVerdict } from '../scan/clamav.ts';
import { ScanFeed } from '../scan/feed.ts';
import { scanDecision } from '../scan/policy.ts';
import { UploadRefusedError } from '../storage/errors.ts';
import type { InspectionFeed, Store, UploadInspector, UploadMeta, WriteOptions } from '../storage/store.ts';

/** The clamd client options of the settings. */
function clientOptions(s: Settings): ClamdClientOptions {
  return {
    host: s.clamavHost,
    port: s.clamavPort,
    connectionTimeout: s.clamavConnectionTimeout,
    replyTimeout: s.clamavScanTimeout,
    maxQueueWait: s.clamavScanTimeout,
    maxConcurrentScans: s.clamavMaxConcurrentScans,
    streamMaxLength: s.clamavStreamMaxLength,
  };
}

export interface UploadScannerOptions {
  settings: () => Settings;
  logger: Logger;
  /** Told every verdict (status counters). */
  onVerdict?: (verdict: ScanVerdict['verdict']) => void;
}

/**
 * The inspector that scans uploads with clamd and refuses (UploadRefusedError) what the policy
 * refuses; each decision other than a clean publish is logged with the slot id and uploader.
 *
 * @example
 * const inspect = createUploadScanner({ settings: () => settings, logger });
 * await store.write(meta, body, { inspect });
 */
export function createUploadScanner(options: UploadScannerOptions): UploadInspector {
  const { settings, logger } = options;
  let client: { key: string; clamd: ClamdClient } | undefined;
  const clamd = (): ClamdClient => {
    const opts = clientOptions(settings());
    const key = JSON.stringify(opts);
    if (client?.key !== key) client = { key, clamd: new ClamdClient(opts) };
    return client.clamd;
  };

  /** Logs and counts the verdict; throws the refusal, or returns to publish. */
  const decide = (meta: UploadMeta, verdict: ScanVerdict): void => {
    options.onVerdict?.(verdict.verdict);
    const s = settings();
    const decision = scanDecision(verdict, {
      failOpen: s.clamavFailOpen,
      tooLarge: s.clamavTooLarge,
      streamMaxLength: s.clamavStreamMaxLength,
    });
    const fields = { id: meta.id, uploader: meta.uploader, size: meta.size };
    if (decision.publish) {
      if (decision.unscanned !== undefined)
        logger.warn('upload published without a malware scan', { ...fields, reason: decision.unscanned });
      return;
    }
    if (verdict.verdict === 'infected')
      logger.warn('upload refused: malware found', { ...fields, signature: verdict.signature });
    else if (verdict.verdict === 'error')
      logger.error('upload refused: it could not be scanned for malware', { ...fields, reason: verdict.reason });
    else logger.warn('upload refused: too large to scan for malware', { ...fields, limit: s.clamavStreamMaxLength });
    throw new UploadRefusedError(
      decision.status,
      decision.message,
      decision.retryAfter !== undefined ? { retryAfter: decision.retryAfter } : {},
    );
  };

  return {
    async inspectFile(meta, path, start) {
      decide(meta, await clamd().scanFile(path, start));
    },
    inspectStream(meta): InspectionFeed {
      // Known too large: nothing is sent to clamd (as scanFile does for a file).
      const feed = new ScanFeed(
        meta.size > settings().clamavStreamMaxLength
          ? async () => ({ verdict: 'too-large' })
          : (open) => clamd().scanStream(open),
      );
      let outcome: Promise<void> | undefined;
      const finish = (): Promise<void> => (outcome ??= feed.end().then((verdict) => decide(meta, verdict)));
      return {
        async push(chunk) {
          await feed.push(chunk);
          // A verdict before the end (clamd unreachable, too large): a refusal stops the upload now.
          if (feed.settled) await finish();
        },
        end: finish,
        abort: () => feed.abort(),
      };
    },
  };
}

/**
 * `store` with an inspector added to every write: the one `inspector()` gives at the start of
 * the write (read at each write, so a reload or a blocklist that turned empty applies to the
 * next upload); undefined lets the write go through untouched.
 *
 * @example
 * const scanned = inspectingStore(store, () => (settings.clamavEnabled ? scanner : undefined));
 */
export function inspectingStore(store: Store, inspector: () => UploadInspector | undefined): Store {
  return {
    get kind() {
      return store.kind;
    },
    open: () => store.open(),
    write: (meta, body, options: WriteOptions = {}) => {
      const inspect = inspector();
      return store.write(meta, body, inspect ? { ...options, inspect } : options);
    },
    stat: (id) => store.stat(id),
    read: (id, select) => store.read(id, select),
    delete: (id) => store.delete(id),
    tombstone: (id) => store.tombstone(id),
    dropTombstone: (id) => store.dropTombstone(id),
    occupant: (id) => store.occupant(id),
    list: () => store.list(),
    listPartial: () => store.listPartial(),
    deletePartial: (name) => store.deletePartial(name),
    close: () => store.close(),
  };
}

/**
 * One inspector that runs each of `inspectors` (the blocklist's hash, the malware scan) in order;
 * the first refusal refuses. On a file each reads it in turn (the second read comes from the page
 * cache; a blocked upload is never sent to clamd). On a stream each chunk goes to every feed.
 * Undefined for none, the inspector itself for one.
 *
 * @example
 * const inspect = inspectAll([blocklist, scanner]);
 */
export function inspectAll(inspectors: UploadInspector[]): UploadInspector | undefined {
  if (inspectors.length <= 1) return inspectors[0];
  return {
    async inspectFile(meta, path, start) {
      for (const inspector of inspectors) await inspector.inspectFile(meta, path, start);
    },
    inspectStream(meta): InspectionFeed {
      const feeds = inspectors.map((inspector) => inspector.inspectStream(meta));
      return {
        async push(chunk) {
          await Promise.all(feeds.map((feed) => feed.push(chunk)));
        },
        async end() {
          for (const [i, feed] of feeds.entries()) {
            try {
              await feed.end();
            } catch (err) {
              for (const rest of feeds.slice(i + 1)) rest.abort();
              throw err;
            }
          }
        },
        abort() {
          for (const feed of feeds) feed.abort();
        },
      };
    },
  };
}

/**
 * Says at start whether uploads are scanned and, if so, whether clamd answers: a clamd that is
 * down means refused uploads (or unscanned ones with clamavFailOpen), which the admin should
 * learn before the first user does. Never throws.
 *
 * @example
 * void announceScanning(settings, logger);
 */
export async function announceScanning(settings: Settings, logger: Logger): Promise<void> {
  if (!settings.clamavEnabled) return;
  const where = `${settings.clamavHost}:${settings.clamavPort}`;
  const answer = await clamdVersion({
    host: settings.clamavHost,
    port: settings.clamavPort,
    connectionTimeout: settings.clamavConnectionTimeout,
    replyTimeout: settings.clamavConnectionTimeout,
  });
  if (answer.ok) logger.info('uploads are scanned for malware', { clamd: where, version: answer.reply });
  else
    logger.error(
      settings.clamavFailOpen
        ? 'clamd does not answer: uploads are published unscanned until it does'
        : 'clamd does not answer: uploads are refused until it does',
      { clamd: where, reason: answer.reason },
    );
}
