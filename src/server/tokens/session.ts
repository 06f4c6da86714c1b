/** Builds the spec's `Session` and `User` objects. */
import type { Session, User } from "../../shared/api";
import type { UserWithRoles } from "../db/users";
import type { RequestContext } from "../context";
import { issueAccessToken, type ExtraClaims } from "./access-token";
import type { IssuedRefreshToken } from "./refresh-token";

export function toUserResponse(user: UserWithRoles): User {
  let metadata: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(user.metadata);
    if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) metadata = parsed as Record<string, unknown>;
  } catch {
    // Stored by us as JSON; an unreadable value is shown as empty rather than failing sign-in.
  }
  return {
    id: user.id,
    createdAt: new Date(user.createdAt).toISOString(),
    displayName: user.displayName,
    avatarUrl: user.avatarUrl,
    locale: user.locale,
    ...(user.email === null ? {} : { email: user.email }),
    emailVerified: user.emailVerified,
    ...(user.phoneNumber === null ? {} : { phoneNumber: user.phoneNumber }),
    phoneNumberVerified: user.phoneNumberVerified,
    isAnonymous: user.isAnonymous,
    defaultRole: user.defaultRole,
    roles: user.roles,
    metadata,
    activeMfaType: user.activeMfaType,
  };
}

export async function buildSession(
  context: RequestContext,
  user: UserWithRoles,
  refresh: IssuedRefreshToken,
  extraClaims?: ExtraClaims,
): Promise<Session> {
  const access = await issueAccessToken(context, user, refresh.familyId, extraClaims);
  return {
    accessToken: access.accessToken,
    accessTokenExpiresIn: access.accessTokenExpiresIn,
    refreshToken: refresh.refreshToken,
    refreshTokenId: refresh.refreshTokenId,
    user: toUserResponse(user),
  };
}
