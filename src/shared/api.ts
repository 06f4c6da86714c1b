/** Wire shapes of the end-user API, as the reference spec's schemas. */

export interface User {
  id: string;
  createdAt: string;
  displayName: string;
  avatarUrl: string;
  locale: string;
  email?: string;
  emailVerified: boolean;
  phoneNumber?: string;
  phoneNumberVerified: boolean;
  isAnonymous: boolean;
  defaultRole: string;
  roles: string[];
  metadata: Record<string, unknown>;
  activeMfaType: string | null;
}

export interface Session {
  accessToken: string;
  accessTokenExpiresIn: number;
  refreshToken: string;
  refreshTokenId: string;
  user?: User;
}

export interface SessionPayload {
  session: Session | null;
}

export interface SignInEmailPasswordResponse {
  session: Session | null;
  mfa?: { ticket: string };
}

/** The spec's `ProviderSession`: a social provider's tokens (`/signin/provider/{provider}/callback/tokens`, `/token/provider/{provider}`). */
export interface ProviderSession {
  accessToken: string;
  expiresIn: number;
  /** ISO 8601. */
  expiresAt: string;
  refreshToken: string | null;
}
