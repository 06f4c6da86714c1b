/** Phone numbers (pure). */

/**
 * Normalises a phone number to E.164 (`+` and 8 to 15 digits, no leading zero in
 * the country code), accepting the usual separators and a `00` international
 * prefix. Null when it cannot be one: numbers without a country code are refused
 * rather than guessed.
 */
export function normalizeE164(input: string): string | null {
  const compact = input.trim().replace(/[\s().-]/g, "");
  const international = compact.startsWith("00") ? `+${compact.slice(2)}` : compact;
  return /^\+[1-9]\d{7,14}$/.test(international) ? international : null;
}
