export { RPC_TRACE_FIELD, RpcClient, type RpcClientOptions } from './rpc-client';
export { isRetrySafePattern, RETRY_SAFE_PATTERNS } from './retry-safe';
export { AppErrorRpcFilter, rpcErrorAnswer, toRpcErrorPayload } from './app-error-rpc.filter';
export { tcpServerOptions } from './tcp-server-options';
export { type ResolvedAddress, type RpcAddress } from './address';
export { CoalescingJsonSocket } from './coalescing-socket';
