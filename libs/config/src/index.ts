export * from './load-config';
export * from './tracing-config';
