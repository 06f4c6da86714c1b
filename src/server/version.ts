/** Reported by `GET /version`; kept in step with package.json by a test. */
export const EDGEAUTH_VERSION = "0.1.0";
