/**
 * A realm's key policy: when its KeyStore rotates, how long a retired key stays
 * published, how long an isolate may hold a lease. The Worker computes it from
 * the realm's settings and hands it to the realm's KeyStore (design §4, §7), so
 * each realm can have its own.
 */
import {
  ACCESS_TOKEN_TTL_SECONDS_DEFAULT,
  JWKS_MAX_AGE_SECONDS_DEFAULT,
  KEY_ROTATION_PERIOD_SECONDS_DEFAULT,
  SIGNING_KEY_LEASE_SECONDS_DEFAULT,
  VERIFIER_CACHE_MAX_AGE_SECONDS_DEFAULT,
  type Config,
} from "../config";

/** What the KeyStore needs to know to run its schedule. */
export interface KeyPolicy {
  /** How long a key signs before the next one takes over. */
  rotationPeriodSeconds: number;
  /** How long a retired key stays in the JWKS after it stopped signing. */
  retiredKeyGraceSeconds: number;
  /** Longest an isolate may hold the current key (never past its retirement). */
  signingKeyLeaseSeconds: number;
}

/** The settings a key policy is computed from. */
export type KeySettings = Pick<
  Config,
  "keyRotationPeriodSeconds" | "signingKeyLeaseSeconds" | "accessTokenTtlSeconds" | "jwksMaxAgeSeconds" | "verifierCacheMaxAgeSeconds"
>;

/**
 * The key policy a realm's settings call for.
 *
 * @example
 * const policy = keyPolicyFor(context.config); // { rotationPeriodSeconds: 2592000, ... }
 */
export function keyPolicyFor(settings: KeySettings): KeyPolicy {
  return {
    rotationPeriodSeconds: settings.keyRotationPeriodSeconds,
    // Every token a retired key signed must outlive its own expiry in every cache
    // (design §4), plus the lease during which an isolate may still sign with it.
    retiredKeyGraceSeconds:
      settings.accessTokenTtlSeconds + settings.jwksMaxAgeSeconds + settings.verifierCacheMaxAgeSeconds + settings.signingKeyLeaseSeconds,
    signingKeyLeaseSeconds: settings.signingKeyLeaseSeconds,
  };
}

/** The policy of a realm that sets nothing: what a KeyStore uses before it is told one. */
export const DEFAULT_KEY_POLICY: KeyPolicy = keyPolicyFor({
  keyRotationPeriodSeconds: KEY_ROTATION_PERIOD_SECONDS_DEFAULT,
  signingKeyLeaseSeconds: SIGNING_KEY_LEASE_SECONDS_DEFAULT,
  accessTokenTtlSeconds: ACCESS_TOKEN_TTL_SECONDS_DEFAULT,
  jwksMaxAgeSeconds: JWKS_MAX_AGE_SECONDS_DEFAULT,
  verifierCacheMaxAgeSeconds: VERIFIER_CACHE_MAX_AGE_SECONDS_DEFAULT,
});
