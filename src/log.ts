/**
 * Structured logging: one JSON object per line on stdout, so journald, Loki or `jq` can read it.
 *
 * @example
 * const log = createLogger({ component: 'http' });
 * log.info('upload stored', { id, size });
 */
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

export function createLogger(bound: Record<string, unknown> = {}, options: LoggerOptions = {}): Logger {
  const min = order[options.level ?? ((process.env.FILEUPLOAD_LOG_LEVEL as Level | undefined) ?? 'info')] ?? order.info;
  const write = options.write ?? ((line: string) => process.stdout.write(line));
  const now = options.now ?? (() => new Date());
  const emit = (level: Level, msg: string, fields?: Record<string, unknown>) => {
    if (order[level] < min) return;
    const record: Record<string, unknown> = { time: now().toISOString(), level, msg, ...bound, ...fields };
    for (const [k, v] of Object.entries(record)) {
      if (v instanceof Error) record[k] = { name: v.name, message: v.message, ...('code' in v ? { code: (v as { code: unknown }).code } : {}) };
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
