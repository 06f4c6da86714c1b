import { workerFetch } from "./helpers";
import { expect, it } from "vitest";

it("answers healthz", async () => {
  const response = await workerFetch("http://localhost/healthz");
  expect(response.status).toBe(200);
  expect(await response.json()).toBe("OK");
});

it("signs up and reads the user", async () => {
  const response = await workerFetch("http://localhost/signup/email-password", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: "a@example.com", password: "correct horse battery" }),
  });
  const body: any = await response.json();
  expect(response.status, JSON.stringify(body)).toBe(200);
  const me = await workerFetch("http://localhost/user", {
    headers: { authorization: `Bearer ${body.session.accessToken}` },
  });
  expect(me.status).toBe(200);
  expect(((await me.json()) as any).email).toBe("a@example.com");
});
