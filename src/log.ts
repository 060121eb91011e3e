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
  const emit = (level: Level, msg: string, fields?: Record<string, unknown>) => {
    if (order[level] < min) return;
    const record: Record<string, unknown> = { time: now().toISOString(), level, msg, ...bound, ...fields };
    for (const [k, v] of Object.entries(record)) {
      if (v instanceof Error)
        record[k] = {
          name: v.name,
          message: v.message,
          ...('code' in v ? { code: (v as { code: unknown }).code } : {}),
        };
    }
    write(JSON.stringify(record) + '\n');
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger({ ...bound, ...fields }, options),
  };
}

/** A logger that drops everything (tests, --json commands). */
export const silentLogger: Logger = createLogger({}, { write: () => {} });
