/**
 * Reads a body whole, but never more than `maxBytes` of it: a body declared or
 * found larger is cancelled as soon as that is known, never buffered. Used for
 * request bodies (the server) and for JWKS documents (the verifier).
 *
 * Internal: not in the package's `exports`. The service imports this file from
 * source, so that the two readers stay one.
 */

/**
 * The body's bytes, or null when it is larger than `maxBytes`. `signal`, when
 * given, also wakes a read that stalls (an injected `fetch` may not tie the body
 * to it) and makes the read throw its reason.
 */
export async function readCappedBytes(
  body: ReadableStream<Uint8Array> | null,
  declaredLength: string | null,
  maxBytes: number,
  signal?: AbortSignal,
): Promise<Uint8Array | null> {
  if (Number(declaredLength) > maxBytes) {
    await body?.cancel().catch(() => {});
    return null;
  }
  if (body === null) return new Uint8Array(0);
  const reader = body.getReader();
  const onAbort = () => void reader.cancel(signal?.reason).catch(() => {});
  signal?.addEventListener("abort", onAbort, { once: true });
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      signal?.throwIfAborted();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) {
        await reader.cancel().catch(() => {});
        return null;
      }
      chunks.push(value);
    }
  } finally {
    signal?.removeEventListener("abort", onAbort);
    reader.releaseLock();
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}
