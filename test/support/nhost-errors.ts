/** How a test expects `@nhost/nhost-js` to fail: the client's FetchError, carrying the server's error body. */
import { FetchError } from "@nhost/nhost-js/fetch";
import { expect } from "vitest";

/** The FetchError `promise` rejects with; fails the test when it resolves or rejects with anything else. */
export async function clientFailure(promise: Promise<unknown>): Promise<FetchError<any>> {
  const error = await promise.then(
    (value) => {
      throw new Error(`expected the call to fail, it answered ${JSON.stringify((value as { body?: unknown }).body)}`);
    },
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(FetchError);
  return error as FetchError<any>;
}

/**
 * The call fails with `status` and the error `code` in Nhost's body, and the
 * client surfaces the server's message as the error's own.
 */
export async function expectAuthError(promise: Promise<unknown>, status: number, code: string): Promise<FetchError<any>> {
  const error = await clientFailure(promise);
  expect(error.status, JSON.stringify(error.body)).toBe(status);
  expect(error.body).toMatchObject({ status, error: code });
  expect(typeof error.body.message).toBe("string");
  expect(error.message).toBe(error.body.message);
  return error;
}
