export * from './connection';
export * from './keys';
export * from './scripts';
export * from './envelope-scripts';
export * from './worker-id-lease';
export * from './queue-retry';
export * from './resilience';
export * from './sold-out-winners';
