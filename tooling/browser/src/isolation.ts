/**
 * Response headers that make a page cross-origin isolated (`crossOriginIsolated === true`), so
 * it gets `SharedArrayBuffer` and @qkv/wasm can run its kernels on worker threads. COEP
 * `require-corp` means every subresource must be same-origin, CORS-fetched or marked with
 * `Cross-Origin-Resource-Policy`: the pages served here load only their own files (and fetch()
 * with CORS, as the explorer's hub downloads do).
 * https://developer.mozilla.org/en-US/docs/Web/API/Window/crossOriginIsolated
 */
export const CROSS_ORIGIN_ISOLATION_HEADERS: Readonly<Record<string, string>> = {
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp',
};
