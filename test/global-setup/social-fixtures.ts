/**
 * What the social sign-in tests and their servers (global-setup/oidc-provider.ts)
 * agree on: client ids and secrets, the realm with its own provider app, and how
 * an account's name at the test provider says whether its email is verified.
 */
export const OIDC_CLIENTS = {
  generic: { id: "edgeauth-oidc", secret: "oidc-client-secret-0123456789" },
  google: { id: "google-web-client", secret: "google-client-secret-0123456789" },
  apple: { id: "apple-service-id", secret: "apple-client-secret-0123456789" },
  realm: { id: "social-realm-client", secret: "realm-client-secret-0123456789" },
} as const;
/** A mobile app's own client id, accepted in Google ID tokens (PROVIDER_GOOGLE_AUDIENCES). */
export const GOOGLE_MOBILE_CLIENT_ID = "google-ios-client";
export const GITHUB_CLIENT = { id: "github-client-id", secret: "github-client-secret-0123456789" } as const;
/** The realm whose own app at the test provider the realm test uses. */
export const SOCIAL_REALM = "social";
/** Accounts whose login starts with this have an unverified email at the providers. */
export const UNVERIFIED_PREFIX = "unverified-";
/** The email the test providers give an account. */
export function emailOf(login: string): string {
  return `${login}@social.example.com`;
}
