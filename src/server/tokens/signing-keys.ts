/**
 * The isolate's lease on each realm's current signing key (design §2). Keys are
 * held in memory only, for at most the lease the KeyStore granted, so issuing a
 * token costs no Durable Object call in steady state.
 */
import { importJWK, type CryptoKey as JoseCryptoKey } from "jose";
import type { KeyStore } from "../keys/key-store";

export interface SigningKey {
  kid: string;
  key: JoseCryptoKey;
}

interface Lease extends SigningKey {
  expiresAt: number;
}

const leases = new Map<string, Lease>();
const pendingLeases = new Map<string, Promise<Lease>>();

export function keyStoreFor(env: Env, realm: string): DurableObjectStub<KeyStore> {
  return env.KEY_STORE.get(env.KEY_STORE.idFromName(realm));
}

async function takeLease(env: Env, realm: string): Promise<Lease> {
  const lease = await keyStoreFor(env, realm).leaseSigningKey();
  const key = (await importJWK(lease.privateJwk, "ES256")) as JoseCryptoKey;
  return { kid: lease.kid, key, expiresAt: lease.expiresAt };
}

export async function signingKeyFor(env: Env, realm: string): Promise<SigningKey> {
  const lease = leases.get(realm);
  if (lease !== undefined && lease.expiresAt > Date.now()) return lease;
  let pending = pendingLeases.get(realm);
  if (pending === undefined) {
    pending = takeLease(env, realm)
      .then((fresh) => {
        leases.set(realm, fresh);
        return fresh;
      })
      .finally(() => pendingLeases.delete(realm));
    pendingLeases.set(realm, pending);
  }
  return pending;
}

/** Forgets the lease, e.g. after this isolate rotated or revoked the realm's keys. */
export function dropSigningKeyLease(realm: string): void {
  leases.delete(realm);
}
