// Local users and their uniqueness guards (GitLab id, login, email), one partition per user.
import { GetCommand } from "@aws-sdk/lib-dynamodb";
import { config } from "./config.js";
import { generateId } from "./crypto.js";
import { db, queryAll, queryPage, batchGet } from "./db.js";
import type { Item, TransactItem } from "./db.js";
import { decodeCursor, encodeCursor } from "./cursor.js";
import { NotFoundError } from "./errors.js";
import { memberPrefix, membershipFromItem } from "./memberships.js";
import type { Membership } from "./memberships.js";
import { isLogin, isPermission } from "./names.js";
import type { Permission } from "./names.js";
import { readBoolean, readOptionalNumber, readOptionalString, readString, readStringArray } from "./parse.js";

export type UserSource = "gitlab" | "api";

export interface User {
  id: string;
  login: string;
  name: string;
  email: string;
  gitlabId: number | null;
  source: UserSource;
  active: boolean;
  permissions: Permission[];
  createdAt: string;
  lastSignInAt: string | null;
  /** Sessions and tokens created at or before this instant are void (set at deactivation). */
  credentialsNotBefore: string | null;
}

function userKey(id: string): { pk: string; sk: string } {
  return { pk: `USER#${id}`, sk: "PROFILE" };
}

function guardKey(kind: "GITLAB" | "LOGIN" | "EMAIL", value: string): { pk: string; sk: string } {
  const normalized = kind === "GITLAB" ? value : value.toLowerCase();
  return { pk: `${kind}#${normalized}`, sk: `${kind}#${normalized}` };
}

export function userFromItem(item: Item): User {
  return {
    id: readString(item, "id"),
    login: readString(item, "login"),
    name: readOptionalString(item, "name") ?? "",
    email: readOptionalString(item, "email") ?? "",
    gitlabId: readOptionalNumber(item, "gitlabId"),
    source: readString(item, "source") === "gitlab" ? "gitlab" : "api",
    active: readBoolean(item, "active"),
    permissions: readStringArray(item, "permissions").filter(isPermission),
    createdAt: readString(item, "createdAt"),
    lastSignInAt: readOptionalString(item, "lastSignInAt"),
    credentialsNotBefore: readOptionalString(item, "credentialsNotBefore"),
  };
}

function userItem(user: User): Item {
  return { ...userKey(user.id), gsi1pk: "USERS", gsi1sk: user.login.toLowerCase(), ...user };
}

export function newUser(input: { login: string; name: string; email: string; gitlabId: number | null; source: UserSource; permissions: Permission[] }, now: Date): User {
  return { id: generateId(now), active: true, createdAt: now.toISOString(), lastSignInAt: null, credentialsNotBefore: null, ...input };
}

function guardPut(kind: "GITLAB" | "LOGIN" | "EMAIL", value: string, userId: string): TransactItem {
  return {
    Put: {
      TableName: config.tableName,
      Item: { ...guardKey(kind, value), userId },
      ConditionExpression: "attribute_not_exists(pk) OR userId = :userId",
      ExpressionAttributeValues: { ":userId": userId },
    },
  };
}

function guardDelete(kind: "GITLAB" | "LOGIN" | "EMAIL", value: string, userId: string): TransactItem {
  return {
    Delete: {
      TableName: config.tableName,
      Key: guardKey(kind, value),
      ConditionExpression: "attribute_not_exists(pk) OR userId = :userId",
      ExpressionAttributeValues: { ":userId": userId },
    },
  };
}

/** Which guard a transaction item is, so a cancellation can name the conflicting field. */
export type GuardKind = "gitlabId" | "login" | "email" | "user";

/** The profile and its guards, all conditional: the first item is the profile. */
export function createUserItems(user: User): { items: TransactItem[]; kinds: GuardKind[] } {
  const items: TransactItem[] = [
    { Put: { TableName: config.tableName, Item: userItem(user), ConditionExpression: "attribute_not_exists(pk)" } },
    guardPut("LOGIN", user.login, user.id),
  ];
  const kinds: GuardKind[] = ["user", "login"];
  if (user.email !== "") {
    items.push(guardPut("EMAIL", user.email, user.id));
    kinds.push("email");
  }
  if (user.gitlabId !== null) {
    items.push(guardPut("GITLAB", String(user.gitlabId), user.id));
    kinds.push("gitlabId");
  }
  return { items, kinds };
}

export interface ProfileChange {
  login?: string;
  name?: string;
  email?: string;
  gitlabId?: number;
  active?: boolean;
  permissions?: Permission[];
  lastSignInAt?: string;
  credentialsNotBefore?: string;
}

/**
 * Updates the profile guarded by its current login and email (so concurrent changes cannot
 * cross) and moves the guards whose values change. Returns the items and what each guards.
 */
export function changeUserItems(user: User, change: ProfileChange): { items: TransactItem[]; kinds: GuardKind[] } {
  const names: Record<string, string> = { "#login": "login", "#email": "email" };
  const values: Record<string, unknown> = { ":oldLogin": user.login, ":oldEmail": user.email };
  const sets: string[] = [];
  const fields = { ...change, ...(change.login !== undefined && { gsi1sk: change.login.toLowerCase() }) };
  for (const [field, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    names[`#${field}`] = field;
    values[`:${field}`] = value;
    sets.push(`#${field} = :${field}`);
  }
  const items: TransactItem[] = [
    {
      Update: {
        TableName: config.tableName,
        Key: userKey(user.id),
        UpdateExpression: `SET ${sets.join(", ")}`,
        ConditionExpression: "attribute_exists(pk) AND #login = :oldLogin AND #email = :oldEmail",
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      },
    },
  ];
  const kinds: GuardKind[] = ["user"];
  if (change.login !== undefined && change.login.toLowerCase() !== user.login.toLowerCase()) {
    items.push(guardDelete("LOGIN", user.login, user.id), guardPut("LOGIN", change.login, user.id));
    kinds.push("user", "login");
  }
  if (change.email !== undefined && change.email.toLowerCase() !== user.email.toLowerCase()) {
    if (user.email !== "") {
      items.push(guardDelete("EMAIL", user.email, user.id));
      kinds.push("user");
    }
    if (change.email !== "") {
      items.push(guardPut("EMAIL", change.email, user.id));
      kinds.push("email");
    }
  }
  if (change.gitlabId !== undefined && change.gitlabId !== user.gitlabId) {
    items.push(guardPut("GITLAB", String(change.gitlabId), user.id));
    kinds.push("gitlabId");
  }
  return { items, kinds };
}

export async function getUserById(id: string): Promise<User | null> {
  const result = await db.send(new GetCommand({ TableName: config.tableName, Key: userKey(id), ConsistentRead: true }));
  return result.Item ? userFromItem(result.Item) : null;
}

async function getGuardedUserId(kind: "GITLAB" | "LOGIN" | "EMAIL", value: string): Promise<string | null> {
  const result = await db.send(new GetCommand({ TableName: config.tableName, Key: guardKey(kind, value), ConsistentRead: true }));
  return result.Item ? readString(result.Item, "userId") : null;
}

export function getUserIdByGitLabId(gitlabId: number): Promise<string | null> {
  return getGuardedUserId("GITLAB", String(gitlabId));
}

export async function getUserIdByLogin(login: string): Promise<string | null> {
  // No login outside the GitLab username rules exists; it could also exceed DynamoDB's key size.
  if (!isLogin(login)) return null;
  return getGuardedUserId("LOGIN", login);
}


export async function getUserByLogin(login: string): Promise<User | null> {
  const userId = await getUserIdByLogin(login);
  return userId === null ? null : getUserById(userId);
}

export async function requireUserByLogin(login: string): Promise<User> {
  const user = await getUserByLogin(login);
  if (user === null) throw new NotFoundError(`No user with login ${login}.`);
  return user;
}

export interface UserWithMemberships {
  user: User;
  memberships: Membership[];
}

/** One query: the profile and every membership share the user's partition. */
export async function getUserWithMemberships(userId: string): Promise<UserWithMemberships | null> {
  const items = await queryAll({
    KeyConditionExpression: "pk = :pk",
    ExpressionAttributeValues: { ":pk": `USER#${userId}` },
    ConsistentRead: true,
  });
  let user: User | null = null;
  const memberships: Membership[] = [];
  for (const item of items) {
    const sk = readString(item, "sk");
    if (sk === "PROFILE") user = userFromItem(item);
    else if (sk.startsWith(memberPrefix)) memberships.push(membershipFromItem(item));
  }
  return user === null ? null : { user, memberships };
}

export async function getUsersByIds(ids: string[]): Promise<Map<string, User>> {
  const items = await batchGet([...new Set(ids)].map(userKey));
  return new Map(items.map((item) => [readString(item, "id"), userFromItem(item)]));
}

export interface UserPage {
  items: User[];
  nextCursor: string | null;
}

/** Users ordered by login; `q` keeps logins that start with it (case-insensitive). */
export async function listUsers(q: string, limit: number, cursor: string | null): Promise<UserPage> {
  const values: Record<string, string> = { ":pk": "USERS" };
  let condition = "gsi1pk = :pk";
  if (q !== "") {
    condition += " AND begins_with(gsi1sk, :q)";
    values[":q"] = q.toLowerCase();
  }
  const page = await queryPage({
    IndexName: "gsi1",
    KeyConditionExpression: condition,
    ExpressionAttributeValues: values,
    Limit: limit,
    ExclusiveStartKey: decodeCursor(cursor, { gsi1pk: "USERS" }),
  });
  return { items: page.items.map(userFromItem), nextCursor: encodeCursor(page.lastKey) };
}

