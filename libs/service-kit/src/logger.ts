import type { LoggerService } from '@nestjs/common';
import pino, { Logger } from 'pino';

/**
 * The process's pino logger: JSON lines with the service name; secrets redacted. `mixin` adds
 * fields to every line (with tracing on: the active span's trace_id and span_id).
 */
export function createLogger(service: string, level: string, mixin?: () => Record<string, unknown>): Logger {
  return pino({
    level,
    base: { service },
    ...(mixin ? { mixin } : {}),
    redact: { paths: ['req.headers.authorization', 'headers.authorization', 'authorization', 'token', '*.token'], censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}

/** Routes Nest's own log calls into the same pino logger. */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly pino: Logger) {}
  private write(level: 'info' | 'error' | 'warn' | 'debug' | 'trace', message: unknown, rest: unknown[]): void {
    const context = typeof rest[rest.length - 1] === 'string' ? (rest[rest.length - 1] as string) : undefined;
    if (message instanceof Error) this.pino[level]({ err: message, context }, message.message);
    else this.pino[level]({ context }, String(message));
  }
  log(message: unknown, ...rest: unknown[]): void {
    this.write('info', message, rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.write('error', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.write('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.write('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.write('trace', message, rest);
  }
}
