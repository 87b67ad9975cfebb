/** k6 provides `console` (log, info, warn, error, debug) but @types/k6 does not declare it without the DOM lib. */
declare const console: {
  log(...data: unknown[]): void;
  info(...data: unknown[]): void;
  warn(...data: unknown[]): void;
  error(...data: unknown[]): void;
  debug(...data: unknown[]): void;
};
