export {
  Breaker,
  BreakerOpenError,
  BreakerRegistry,
  BREAKER_EVENTS,
  breakers,
  createBreaker,
  isBreakerRejection,
  type BreakerEvent,
  type BreakerInfo,
  type BreakerOptions,
  type BreakerState,
  type BreakerStateChange,
} from './breaker';
export { isDependencyFailure } from './failures';
export { fullJitterDelayMs, retry, type RetryOptions } from './retry';
export { IdleBackoff } from './idle-backoff';
export { SharedReads } from './shared-reads';
