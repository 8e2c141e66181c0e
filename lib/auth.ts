// Who is calling: a session cookie or an API token, resolved to a user with effective permissions.
import type { Actor } from "./audit.js";
import { publicOrigin } from "./config.js";
import { ForbiddenError, UnauthenticatedError } from "./errors.js";
import { effectivePermissions, getGroupsByIds, groupNames, readCatalogVersion } from "./groups.js";
import type { HTTPRequest } from "./http.js";
import type { Permission } from "./names.js";
import { getSession, touchSession } from "./sessions.js";
import { getAPITokenOwner } from "./tokens.js";
import { getUserWithMemberships } from "./users.js";
import type { User } from "./users.js";

export const sessionCookieName = "session";

export interface Principal {
  user: User;
  permissions: Permission[];
  /** Names of the local groups the user belongs to. */
  groups: string[];
  via: "session" | "token";
  tokenId: string | null;
}

/** The caller, or null when no valid credential is presented. A bad Bearer token never falls back to the cookie. */
export async function authenticate(request: HTTPRequest): Promise<Principal | null> {
  const authorization = request.headers.authorization;
  let userId: string;
  let tokenId: string | null = null;
  let issuedAt: string;
  if (authorization !== undefined) {
    const match = /^Bearer ([A-Za-z0-9_-]{1,200})$/.exec(authorization.trim());
    const owner = match?.[1] === undefined ? null : await getAPITokenOwner(match[1]);
    if (owner === null) return null;
    userId = owner.userId;
    tokenId = owner.tokenId;
    issuedAt = owner.createdAt;
  } else {
    const token = request.cookies.get(sessionCookieName);
    if (token === undefined || token === "") return null;
    const session = await getSession(token);
    if (session === null) return null;
    userId = session.userId;
    issuedAt = session.createdAt;
    await touchSession(session);
  }
  const [found, catalogVersion] = await Promise.all([getUserWithMemberships(userId), readCatalogVersion()]);
  if (found === null || !found.user.active) return null;
  const notBefore = found.user.credentialsNotBefore;
  if (notBefore !== null && issuedAt <= notBefore) return null;
  const groupIds = found.memberships.map((membership) => membership.groupId);
  const catalog = await getGroupsByIds(catalogVersion, groupIds);
  return {
    user: found.user,
    permissions: effectivePermissions(found.user.permissions, groupIds, catalog),
    groups: groupNames(groupIds, catalog),
    via: tokenId === null ? "session" : "token",
    tokenId,
  };
}

const safeMethods = new Set(["GET", "HEAD", "OPTIONS"]);

/** Cookie-authenticated state changes must come from our own pages (CSRF defence). */
export function checkOrigin(request: HTTPRequest, principal: Principal): void {
  if (principal.via !== "session" || safeMethods.has(request.method)) return;
  if (request.headers.origin !== publicOrigin()) {
    throw new ForbiddenError("This request must come from the gitlab-jit pages (the Origin header does not match).");
  }
}

export async function requireSignedIn(request: HTTPRequest): Promise<Principal> {
  const principal = await authenticate(request);
  if (principal === null) throw new UnauthenticatedError("Sign in first, or send a valid API token.");
  checkOrigin(request, principal);
  return principal;
}

/** Administer System, held directly or through a group. */
export async function requireAdmin(request: HTTPRequest): Promise<Principal> {
  const principal = await requireSignedIn(request);
  if (!principal.permissions.includes("admin")) throw new ForbiddenError("This needs the Administer System permission.");
  return principal;
}

export function actorOf(principal: Principal): Actor {
  return principal.via === "token"
    ? { kind: "token", login: principal.user.login, tokenId: principal.tokenId ?? undefined }
    : { kind: "user", login: principal.user.login };
}

export interface Me {
  login: string;
  name: string;
  email: string;
  gitlabId: number | null;
  active: boolean;
  permissions: Permission[];
  groups: string[];
}

export function describePrincipal(principal: Principal): Me {
  const { user } = principal;
  return {
    login: user.login,
    name: user.name,
    email: user.email,
    gitlabId: user.gitlabId,
    active: user.active,
    permissions: principal.permissions,
    groups: principal.groups,
  };
}
