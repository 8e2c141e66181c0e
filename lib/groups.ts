// Local groups, named after GitLab full paths, and the in-memory group catalog used at sign-in.
import { GetCommand } from "@aws-sdk/lib-dynamodb";
import { auditPut } from "./audit.js";
import type { Actor } from "./audit.js";
import { config } from "./config.js";
import { generateId } from "./crypto.js";
import { batchDelete, batchGet, db, queryAll, queryPage, transactWrite } from "./db.js";
import type { Item, TransactItem } from "./db.js";
import { decodeCursor, encodeCursor } from "./cursor.js";
import { ConflictError, NotFoundError, transactionCancellationCodes } from "./errors.js";
import { parseBody, stringListRule, stringRule } from "./input.js";
import { listAllMembershipKeys } from "./memberships.js";
import { isGroupPath, isPermission, isSameOrSubgroup } from "./names.js";
import type { Permission } from "./names.js";
import { readNumber, readOptionalString, readString, readStringArray } from "./parse.js";

export interface Group {
  id: string;
  name: string;
  description: string;
  permissions: Permission[];
}

export const catalogKey = { pk: "CATALOG", sk: "GROUPS" } as const;

function groupKey(id: string): { pk: string; sk: string } {
  return { pk: `GROUP#${id}`, sk: "GROUP" };
}

function nameGuardKey(name: string): { pk: string; sk: string } {
  return { pk: `GROUPNAME#${name}`, sk: `GROUPNAME#${name}` };
}

function groupFromItem(item: Item): Group {
  return {
    id: readString(item, "id"),
    name: readString(item, "name"),
    description: readOptionalString(item, "description") ?? "",
    permissions: readStringArray(item, "permissions").filter(isPermission),
  };
}

function groupItem(group: Group): Item {
  return { ...groupKey(group.id), gsi1pk: "GROUPS", gsi1sk: group.name, ...group };
}

function bumpCatalogItem(): TransactItem {
  return {
    Update: {
      TableName: config.tableName,
      Key: catalogKey,
      UpdateExpression: "ADD version :one",
      ExpressionAttributeValues: { ":one": 1 },
    },
  };
}

const nameRule = stringRule({ min: 1, max: 1024, test: isGroupPath, hint: "must be a GitLab full path: letters, digits, _, - and . separated by single /" });
const groupRules = {
  name: nameRule,
  description: stringRule({ max: 1000 }),
  permissions: stringListRule({ max: 20, test: isPermission, hint: "known permissions: admin" }),
};

export async function getGroup(id: string): Promise<Group | null> {
  // Ids are ours (see generateId): anything else names no group, and could exceed DynamoDB's key size.
  if (!/^[0-9a-z]{1,64}$/.test(id)) return null;
  const result = await db.send(new GetCommand({ TableName: config.tableName, Key: groupKey(id), ConsistentRead: true }));
  return result.Item ? groupFromItem(result.Item) : null;
}

export async function requireGroup(id: string): Promise<Group> {
  const group = await getGroup(id);
  if (group === null) throw new NotFoundError(`No group with id ${id}.`);
  return group;
}

export interface GroupPage {
  items: Group[];
  nextCursor: string | null;
}

/** Groups ordered by name; `q` keeps names that start with it. */
export async function listGroups(q: string, limit: number, cursor: string | null): Promise<GroupPage> {
  const values: Record<string, string> = { ":pk": "GROUPS" };
  let condition = "gsi1pk = :pk";
  if (q !== "") {
    condition += " AND begins_with(gsi1sk, :q)";
    values[":q"] = q;
  }
  const page = await queryPage({
    IndexName: "gsi1",
    KeyConditionExpression: condition,
    ExpressionAttributeValues: values,
    Limit: limit,
    ExclusiveStartKey: decodeCursor(cursor, { gsi1pk: "GROUPS" }),
  });
  return { items: page.items.map(groupFromItem), nextCursor: encodeCursor(page.lastKey) };
}

export async function createGroup(body: unknown, actor: Actor): Promise<Group> {
  const input = parseBody(body, groupRules, ["name"]);
  const group: Group = {
    id: generateId(),
    name: input.name ?? "",
    description: input.description ?? "",
    permissions: (input.permissions ?? []).filter(isPermission),
  };
  try {
    await transactWrite([
      { Put: { TableName: config.tableName, Item: groupItem(group), ConditionExpression: "attribute_not_exists(pk)" } },
      {
        Put: {
          TableName: config.tableName,
          Item: { ...nameGuardKey(group.name), groupId: group.id },
          ConditionExpression: "attribute_not_exists(pk)",
        },
      },
      bumpCatalogItem(),
      auditPut("group.created", actor, null, { group: group.name, permissions: group.permissions }),
    ]);
  } catch (error) {
    if (transactionCancellationCodes(error)?.[1] === "ConditionalCheckFailed") {
      throw new ConflictError(`A group named ${group.name} already exists.`);
    }
    throw error;
  }
  return group;
}

export async function updateGroup(id: string, body: unknown, actor: Actor): Promise<Group> {
  const input = parseBody(body, groupRules);
  const before = await requireGroup(id);
  const after: Group = {
    ...before,
    ...(input.name !== undefined && { name: input.name }),
    ...(input.description !== undefined && { description: input.description }),
    ...(input.permissions !== undefined && { permissions: input.permissions.filter(isPermission) }),
  };
  const items: TransactItem[] = [
    {
      Put: {
        TableName: config.tableName,
        Item: groupItem(after),
        ConditionExpression: "attribute_exists(pk) AND #name = :name",
        ExpressionAttributeNames: { "#name": "name" },
        ExpressionAttributeValues: { ":name": before.name },
      },
    },
    bumpCatalogItem(),
  ];
  if (after.name !== before.name) {
    items.push(
      { Delete: { TableName: config.tableName, Key: nameGuardKey(before.name) } },
      {
        Put: {
          TableName: config.tableName,
          Item: { ...nameGuardKey(after.name), groupId: id },
          ConditionExpression: "attribute_not_exists(pk)",
        },
      },
    );
  }
  const changed = (["name", "description", "permissions"] as const).filter((field) => JSON.stringify(before[field]) !== JSON.stringify(after[field]));
  if (changed.length === 0) return before;
  try {
    await transactWrite([...items, auditPut("group.updated", actor, null, { group: after.name, previousName: before.name, fields: changed })]);
  } catch (error) {
    const codes = transactionCancellationCodes(error);
    if (codes?.[3] === "ConditionalCheckFailed") throw new ConflictError(`A group named ${after.name} already exists.`);
    if (codes?.[0] === "ConditionalCheckFailed") throw new ConflictError("The group changed or was deleted meanwhile. Try again.");
    throw error;
  }
  return after;
}

/** Deletes the group first, so racing additions fail their condition, then its memberships. */
export async function deleteGroup(id: string, actor: Actor): Promise<Group> {
  const group = await requireGroup(id);
  try {
    await transactWrite([
      { Delete: { TableName: config.tableName, Key: groupKey(id), ConditionExpression: "attribute_exists(pk)" } },
      { Delete: { TableName: config.tableName, Key: nameGuardKey(group.name) } },
      bumpCatalogItem(),
      auditPut("group.deleted", actor, null, { group: group.name }),
    ]);
  } catch (error) {
    if (transactionCancellationCodes(error)?.[0] === "ConditionalCheckFailed") throw new NotFoundError(`No group with id ${id}.`);
    throw error;
  }
  await batchDelete(await listAllMembershipKeys(id));
  return group;
}

// ---- The catalog: every group, cached per container and re-read when its version changes.

export interface GroupCatalog {
  version: number;
  byId: ReadonlyMap<string, Group>;
  /** Names sorted by UTF-16 code units, for prefix ranges. */
  sortedNames: readonly { name: string; id: string }[];
}

let cachedCatalog: { catalog: GroupCatalog; loadedAt: number } | null = null;
// A GSI read just after a change may miss it; re-reading now and then bounds that staleness.
const catalogMaxAgeMs = 60_000;

export function catalogVersionFromItem(item: Item | undefined): number {
  return item === undefined ? 0 : readNumber(item, "version");
}

export async function readCatalogVersion(): Promise<number> {
  const result = await db.send(new GetCommand({ TableName: config.tableName, Key: catalogKey, ConsistentRead: true }));
  return catalogVersionFromItem(result.Item);
}

function currentCachedCatalog(version: number): GroupCatalog | null {
  if (cachedCatalog !== null && cachedCatalog.catalog.version === version && Date.now() - cachedCatalog.loadedAt < catalogMaxAgeMs) {
    return cachedCatalog.catalog;
  }
  return null;
}

/** The catalog for `version`: from memory when unchanged, else one paged query of all groups. */
export async function getGroupCatalog(version: number): Promise<GroupCatalog> {
  const cached = currentCachedCatalog(version);
  if (cached !== null) return cached;
  const items = await queryAll({
    IndexName: "gsi1",
    KeyConditionExpression: "gsi1pk = :pk",
    ExpressionAttributeValues: { ":pk": "GROUPS" },
  });
  const catalog = buildGroupCatalog(version, items.map(groupFromItem));
  cachedCatalog = { catalog, loadedAt: Date.now() };
  return catalog;
}

/**
 * Just the given groups, for authenticating a request: the cached catalog when current, else
 * read by key, so a burst of group changes does not make every request reload all groups.
 */
export async function getGroupsByIds(version: number, groupIds: readonly string[]): Promise<GroupCatalog> {
  const cached = currentCachedCatalog(version);
  if (cached !== null || groupIds.length === 0) return cached ?? buildGroupCatalog(version, []);
  const items = await batchGet([...new Set(groupIds)].map(groupKey), true);
  return buildGroupCatalog(version, items.map(groupFromItem));
}

export function buildGroupCatalog(version: number, groups: Group[]): GroupCatalog {
  const byId = new Map(groups.map((group) => [group.id, group]));
  const sortedNames = groups
    .map((group) => ({ name: group.name, id: group.id }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { version, byId, sortedNames };
}

/**
 * The ids of local groups whose name equals a GitLab path or lies below one. Case-sensitive.
 * Names with a given prefix are contiguous in sorted order: a binary search finds the start.
 */
export function matchGroupsToGitLabPaths(catalog: GroupCatalog, gitlabPaths: Iterable<string>): Set<string> {
  const matched = new Set<string>();
  const names = catalog.sortedNames;
  for (const path of gitlabPaths) {
    for (let index = lowerBound(names, path); index < names.length; index++) {
      const entry = names[index]!;
      if (!entry.name.startsWith(path)) break;
      if (isSameOrSubgroup(entry.name, path)) matched.add(entry.id);
    }
  }
  return matched;
}

function lowerBound(names: readonly { name: string }[], value: string): number {
  let low = 0;
  let high = names.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (names[middle]!.name < value) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** Effective permissions: the user's own plus those of every group they belong to. */
export function effectivePermissions(own: readonly Permission[], groupIds: Iterable<string>, catalog: GroupCatalog): Permission[] {
  const permissions = new Set<Permission>(own);
  for (const groupId of groupIds) {
    for (const permission of catalog.byId.get(groupId)?.permissions ?? []) permissions.add(permission);
  }
  return [...permissions].sort();
}

export function groupNames(groupIds: Iterable<string>, catalog: GroupCatalog): string[] {
  const names: string[] = [];
  for (const groupId of groupIds) {
    const group = catalog.byId.get(groupId);
    if (group !== undefined) names.push(group.name);
  }
  return names.sort();
}
