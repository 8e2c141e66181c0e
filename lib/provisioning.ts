// The provisioning API's operations: users, group memberships, with their audit events.
import { auditPut } from "./audit.js";
import type { Actor } from "./audit.js";
import { transactWrite } from "./db.js";
import type { TransactItem } from "./db.js";
import { ConflictError, NotFoundError, transactionCancellationCodes } from "./errors.js";
import { getGroupCatalog, groupNames, readCatalogVersion, requireGroup } from "./groups.js";
import type { Group } from "./groups.js";
import { booleanRule, parseBody, stringListRule, stringRule } from "./input.js";
import { addMembershipItems, listGroupMemberIds, removeMembershipItem } from "./memberships.js";
import type { MembershipSource } from "./memberships.js";
import { isEmail, isLogin, isPermission } from "./names.js";
import { deleteAllSessionsOf } from "./sessions.js";
import { getGitLabSettings } from "./settings.js";
import { revokeAllAPITokensOf } from "./tokens.js";
import { changeUserItems, createUserItems, getUsersByIds, getUserWithMemberships, listUsers, newUser, requireUserByLogin } from "./users.js";
import type { GuardKind, ProfileChange, User, UserSource } from "./users.js";

export interface UserView {
  login: string;
  name: string;
  email: string;
  gitlabId: number | null;
  source: UserSource;
  active: boolean;
  permissions: string[];
  groups: string[];
  createdAt: string;
  lastSignInAt: string | null;
}

function userView(user: User, groups: string[]): UserView {
  return {
    login: user.login,
    name: user.name,
    email: user.email,
    gitlabId: user.gitlabId,
    source: user.source,
    active: user.active,
    permissions: user.permissions,
    groups,
    createdAt: user.createdAt,
    lastSignInAt: user.lastSignInAt,
  };
}

/**
 * Users with the names of their groups: one query per user for the partition (profile and
 * memberships, in parallel), one read of the catalog version, the catalog from memory.
 */
async function describeUsers(users: User[]): Promise<UserView[]> {
  const [found, version] = await Promise.all([Promise.all(users.map((user) => getUserWithMemberships(user.id))), readCatalogVersion()]);
  const catalog = await getGroupCatalog(version);
  return users.map((user, index) => {
    const entry = found[index];
    return userView(entry?.user ?? user, groupNames(entry?.memberships.map((membership) => membership.groupId) ?? [], catalog));
  });
}

export async function describeUser(user: User): Promise<UserView> {
  const [view] = await describeUsers([user]);
  return view!;
}

export async function getUserView(login: string): Promise<UserView> {
  return describeUser(await requireUserByLogin(login));
}

export async function listUserViews(q: string, limit: number, cursor: string | null): Promise<{ items: UserView[]; nextCursor: string | null }> {
  const page = await listUsers(q, limit, cursor);
  return { items: await describeUsers(page.items), nextCursor: page.nextCursor };
}

const loginRule = stringRule({ min: 1, max: 255, test: isLogin, hint: "must be a GitLab username: letters, digits, _, - and ." });
const emailRule = stringRule({ max: 254, test: (value) => value === "" || isEmail(value), hint: "must be an email address" });
const permissionsRule = stringListRule({ max: 20, test: isPermission, hint: "known permissions: admin" });

function conflictFromCancellation(error: unknown, kinds: GuardKind[]): Error {
  const codes = transactionCancellationCodes(error);
  if (codes === null) return error instanceof Error ? error : new Error(String(error));
  const failed = new Set(kinds.filter((_, index) => codes[index] === "ConditionalCheckFailed"));
  if (failed.has("login")) return new ConflictError("Another user already has this login.");
  if (failed.has("email")) return new ConflictError("Another user already has this email address.");
  return new ConflictError("The user changed meanwhile. Reload and try again.");
}

export async function createUserByAdmin(body: unknown, actor: Actor): Promise<UserView> {
  const input = parseBody(body, { login: loginRule, name: stringRule({ max: 255 }), email: emailRule, permissions: permissionsRule }, ["login"]);
  const user = newUser(
    { login: input.login ?? "", name: input.name ?? "", email: input.email ?? "", gitlabId: null, source: "api", permissions: (input.permissions ?? []).filter(isPermission) },
    new Date(),
  );
  const { items, kinds } = createUserItems(user);
  try {
    await transactWrite([...items, auditPut("user.created", actor, user.login, { source: "api", permissions: user.permissions })]);
  } catch (error) {
    throw conflictFromCancellation(error, kinds);
  }
  return userView(user, []);
}

export async function updateUserByAdmin(login: string, body: unknown, actor: Actor): Promise<UserView> {
  const input = parseBody(body, { name: stringRule({ max: 255 }), email: emailRule, active: booleanRule(), permissions: permissionsRule });
  const user = await requireUserByLogin(login);
  if (input.active === false && actor.login !== null && actor.login.toLowerCase() === user.login.toLowerCase()) {
    throw new ConflictError("You cannot deactivate yourself.");
  }
  const change: ProfileChange = {
    ...(input.name !== undefined && { name: input.name }),
    ...(input.email !== undefined && { email: input.email }),
    ...(input.active !== undefined && { active: input.active }),
    // Voids every session and token that exists now, even one the index below has not listed yet.
    ...(input.active === false && { credentialsNotBefore: new Date().toISOString() }),
    ...(input.permissions !== undefined && { permissions: input.permissions.filter(isPermission) }),
  };
  if (Object.keys(change).length === 0) return describeUser(user);
  const { items, kinds } = changeUserItems(user, change);
  const audit: TransactItem[] = [];
  if (input.active !== undefined && input.active !== user.active) {
    audit.push(auditPut(input.active ? "user.reactivated" : "user.deactivated", actor, user.login, {}));
  }
  const fields = Object.keys(change).filter((field) => field !== "active" && field !== "credentialsNotBefore");
  if (fields.length > 0) audit.push(auditPut("user.updated", actor, user.login, { fields }));
  try {
    await transactWrite([...items, ...audit]);
  } catch (error) {
    throw conflictFromCancellation(error, kinds);
  }
  if (input.active === false) {
    // Deactivation ends every session and token at once (authentication also checks `active`).
    await Promise.all([deleteAllSessionsOf(user.id), revokeAllAPITokensOf(user.id)]);
  }
  return describeUser({ ...user, ...change });
}

/** While synchronization is on, GitLab owns the memberships of users it provisioned. */
async function assertManuallyManageable(user: User): Promise<void> {
  if (user.source !== "gitlab") return;
  const settings = await getGitLabSettings();
  if (settings.synchronizeGroups) {
    throw new ConflictError(
      `The memberships of ${user.login} are managed by GitLab group synchronization. Change them in GitLab, or turn synchronization off.`,
    );
  }
}

export interface MemberView {
  login: string;
  source: MembershipSource;
}

export async function addMemberByAdmin(groupId: string, login: string, actor: Actor): Promise<MemberView> {
  const [group, user] = await Promise.all([requireGroup(groupId), requireUserByLogin(login)]);
  await assertManuallyManageable(user);
  const found = await getUserWithMemberships(user.id);
  const existing = found?.memberships.find((membership) => membership.groupId === groupId);
  if (existing !== undefined) return { login: user.login, source: existing.source };
  try {
    await transactWrite([
      ...addMembershipItems(user.id, group.id, "manual", new Date()),
      auditPut("membership.added", actor, user.login, { group: group.name, source: "manual" }),
    ]);
  } catch (error) {
    if (transactionCancellationCodes(error)?.[1] === "ConditionalCheckFailed") throw new NotFoundError(`No group with id ${groupId}.`);
    throw error;
  }
  return { login: user.login, source: "manual" };
}

export async function removeMemberByAdmin(groupId: string, login: string, actor: Actor): Promise<void> {
  const [group, user] = await Promise.all([requireGroup(groupId), requireUserByLogin(login)]);
  await assertManuallyManageable(user);
  const found = await getUserWithMemberships(user.id);
  const existing = found?.memberships.find((membership) => membership.groupId === groupId);
  if (existing === undefined) throw new NotFoundError(`${user.login} is not a member of ${group.name}.`);
  await transactWrite([
    removeMembershipItem(user.id, group.id),
    auditPut("membership.removed", actor, user.login, { group: group.name, source: existing.source }),
  ]);
}

export async function listMembers(groupId: string, limit: number, cursor: string | null): Promise<{ items: MemberView[]; nextCursor: string | null }> {
  await requireGroup(groupId);
  const page = await listGroupMemberIds(groupId, limit, cursor);
  const users = await getUsersByIds(page.userIds.map(({ userId }) => userId));
  const items = page.userIds.flatMap(({ userId, source }) => {
    const user = users.get(userId);
    return user === undefined ? [] : [{ login: user.login, source }];
  });
  return { items, nextCursor: page.nextCursor };
}

export function groupView(group: Group): Group {
  return { id: group.id, name: group.name, description: group.description, permissions: group.permissions };
}
