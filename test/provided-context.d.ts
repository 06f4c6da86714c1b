// What the global setups provide (test/global-setup/*.ts declare the same for the
// Node side, which this program does not include), for `inject` in the tests and
// in vitest.config.ts.
import type { JWK } from "jose";

declare module "vitest" {
  export interface ProvidedContext {
    smtpPorts: { plain: number; loginOnly: number; implicitTls: number; silent: number };
    smtpCaCertificate: string;
    mailHttpPort: number;
    oidcPort: number;
    oidcSigningKey: JWK;
    githubPort: number;
  }
}
