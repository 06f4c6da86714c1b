/**
 * Work that must not show in the timing of the answer it follows: the lookups
 * behind a concealed "OK" (does this address have an account?).
 *
 * Handing it to `waitUntil` is not enough. Its first steps would run on the
 * isolate's one thread while the answer is still being written, and
 * `npm run bench` measured that leaking: a password reset for a known address
 * answered 3.7 ms later than for an unknown one, a code for a new address (which
 * creates the account) 4.3 ms later than for a known one. Starting the work after
 * a pause lets the answer leave first; with it the differences fell to within
 * ±0.3 ms, below the run's noise.
 */
import type { RequestContext } from "../context";

/** Generous: the answer is a few bytes and leaves within a millisecond or two. */
export const CONCEALED_WORK_DELAY_MS = 50;

export function runAfterResponse(context: RequestContext, work: () => Promise<void>): void {
  context.waitUntil(new Promise((resolve) => setTimeout(resolve, CONCEALED_WORK_DELAY_MS)).then(work));
}
