/**
 * Structured logging: one JSON object per line on stdout, so journald, Loki or `jq` can read it.
 *
 * @example
 * const log = createLogger({ component: 'http' });
 * log.info('upload stored', { id, size });
 */
import { writeSync } from 'node:fs';

export type Level = 'debug' | 'info' | 'warn' | 'error';

const order: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /** Whether a line at `level` is written: a caller can skip building fields nobody reads. */
  enabled(level: Level): boolean;
  child(fields: Record<string, unknown>): Logger;
}

export interface LoggerOptions {
  level?: Level;
  write?: (line: string) => void;
  now?: () => Date;
}

/**
 * Collects lines and hands them to `sink` once per turn of the event loop, joined, instead of one
 * write each: stdout on a pipe (systemd, a log shipper) is a blocking write(2) per call on Linux,
 * and at thousands of slots a second one line each cost more than issuing the slot. `flushSync`
 * writes whatever is still held, for process exit (nothing logged is lost on exit or crash
 * handling; only SIGKILL can drop the current turn's lines).
 *
 * @example
 * const out = lineBuffer((text) => process.stdout.write(text));
 * out.write('{"msg":"a"}\n'); out.write('{"msg":"b"}\n'); // one write, on the next turn
 * process.on('exit', () => out.flushSync((text) => writeSync(1, text)));
 */
export function lineBuffer(sink: (text: string) => void): {
  write(line: string): void;
  flushSync(to?: (text: string) => void): void;
} {
  let held = '';
  let scheduled = false;
  // Bound what a burst can hold: past this, lines go out at once.
  const LIMIT = 64 * 1024;
  const flush = (): void => {
    scheduled = false;
    if (held === '') return;
    const text = held;
    held = '';
    sink(text);
  };
  return {
    write(line) {
      held += line;
      if (held.length >= LIMIT) flush();
      else if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
    flushSync(to = sink) {
      if (held === '') return;
      const text = held;
      held = '';
      to(text);
    },
  };
}

let stdoutBuffer: ReturnType<typeof lineBuffer> | undefined;

/** One buffer for every logger writing to stdout, so lines keep their order. */
function bufferedStdout(): (line: string) => void {
  if (!stdoutBuffer) {
    const buffer = lineBuffer((text) => process.stdout.write(text));
    stdoutBuffer = buffer;
    process.on('exit', () => {
      buffer.flushSync((text) => {
        try {
          writeSync(1, text);
        } catch {
          // stdout gone (closed pipe): nothing left to tell
        }
      });
    });
  }
  const buffer = stdoutBuffer;
  return (line) => buffer.write(line);
}

export function createLogger(bound: Record<string, unknown> = {}, options: LoggerOptions = {}): Logger {
  const min = order[options.level ?? (process.env.FILEUPLOAD_LOG_LEVEL as Level | undefined) ?? 'info'] ?? order.info;
  const write = options.write ?? bufferedStdout();
  const now = options.now ?? (() => new Date());
  const boundKeys = Object.keys(bound);
  const emit = (level: Level, msg: string, fields?: Record<string, unknown>) => {
    if (order[level] < min) return;
    // Filled key by key, in the order `{ time, level, msg, ...bound, ...fields }` would give:
    // every upload logs a line, and spreads and an entries() pass cost more than the line itself.
    const record: Record<string, unknown> = { time: now().toISOString(), level, msg };
    for (const k of boundKeys) record[k] = loggable(bound[k]);
    if (fields) for (const k of Object.keys(fields)) record[k] = loggable(fields[k]);
    write(JSON.stringify(record) + '\n');
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    enabled: (level) => order[level] >= min,
    child: (fields) => createLogger({ ...bound, ...fields }, options),
  };
}

/** An Error as its name, message and code (JSON.stringify would give `{}`); anything else as is. */
function loggable(v: unknown): unknown {
  if (!(v instanceof Error)) return v;
  return { name: v.name, message: v.message, ...('code' in v ? { code: (v as { code: unknown }).code } : {}) };
}

/** A logger that drops everything (tests, --json commands). */
export const silentLogger: Logger = createLogger({}, { write: () => {} });
