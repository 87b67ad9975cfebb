export * from './bootstrap';
export * from './metrics';
export * from './readiness';
export * from './logger';
export * from './http-error.filter';
export * from './service-kit.module';
export * from './rpc-metrics.interceptor';
export * from './crash-point';
