/** One-time numeric codes (pure). */

/** A uniformly random code of `digits` decimal digits (rejection sampling, no modulo bias). */
export function randomNumericCode(digits: number): string {
  const range = 10 ** digits;
  const limit = Math.floor(0x1_0000_0000 / range) * range;
  const word = new Uint32Array(1);
  for (;;) {
    crypto.getRandomValues(word);
    if (word[0]! < limit) return String(word[0]! % range).padStart(digits, "0");
  }
}
