export * from './mariadb-server';
export * from './ports';
export * from './tokens';
export * from './system';
export * from './redis-cluster';
export * from './redis-server';
export * from './concurrency';
export * from './redis-cleanup';
