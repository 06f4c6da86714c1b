/**
 * Flows whose answer must not tell whether an account exists (reset, magic link,
 * email and SMS codes): with errors concealed, their account work must not show in
 * the answer's timing either.
 *
 * Handing that work to `waitUntil` is not enough. Its first steps would run on the
 * isolate's one thread while the answer is still being written, and
 * `npm run bench` measured that leaking: a password reset for a known address
 * answered 3.7 ms later than for an unknown one, a code for a new address (which
 * creates the account) 4.3 ms later than for a known one. Starting the work after
 * a pause lets the answer leave first; with it the differences fell to within
 * ±0.3 ms, below the run's noise.
 */
import type { RequestContext } from "../context";
import { AuthError } from "../errors";

/** Generous: the answer is a few bytes and leaves within a millisecond or two. */
export const CONCEALED_WORK_DELAY_MS = 50;

/**
 * Runs `work` (the lookups and writes that depend on the account), then `deliver`
 * with its result. Concealed, all of it starts after the answer has left and none
 * of its errors is answered. Otherwise `work` runs first, so its errors are
 * answered; only delivery waits. Failures are logged under `label`, never with
 * the content delivered; an AuthError is a concealed answer, not a failure.
 */
export async function runConcealable<Result>(
  context: RequestContext,
  { conceal, label }: { conceal: boolean; label: string },
  work: () => Promise<Result>,
  deliver: (result: Result) => Promise<unknown>,
): Promise<void> {
  const logFailure = (error: unknown) => {
    if (error instanceof AuthError) return;
    console.error(`${label} failed: ${error instanceof Error ? error.message : "unknown error"}`);
  };
  if (conceal) {
    const afterTheAnswer = new Promise((resolve) => setTimeout(resolve, CONCEALED_WORK_DELAY_MS));
    context.waitUntil(afterTheAnswer.then(work).then(deliver).catch(logFailure));
    return;
  }
  const result = await work();
  context.waitUntil(deliver(result).catch(logFailure));
}
