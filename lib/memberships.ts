// Memberships: a user's groups live in the user's partition, listed per group through gsi1.
import { config } from "./config.js";
import { queryPage } from "./db.js";
import type { Item, TransactItem } from "./db.js";
import { decodeCursor, encodeCursor } from "./cursor.js";
import { readString } from "./parse.js";

export type MembershipSource = "manual" | "gitlab";

export interface Membership {
  groupId: string;
  source: MembershipSource;
}

export const memberPrefix = "MEMBER#";

function membershipKey(userId: string, groupId: string): { pk: string; sk: string } {
  return { pk: `USER#${userId}`, sk: `${memberPrefix}${groupId}` };
}

export function membershipFromItem(item: Item): Membership {
  const source = readString(item, "source");
  return { groupId: readString(item, "groupId"), source: source === "gitlab" ? "gitlab" : "manual" };
}

/** Adding needs the group to exist at commit time, so a racing group deletion leaves no orphan. */
export function addMembershipItems(userId: string, groupId: string, source: MembershipSource, now: Date): TransactItem[] {
  return [
    {
      Put: {
        TableName: config.tableName,
        Item: {
          ...membershipKey(userId, groupId),
          gsi1pk: `GROUP#${groupId}`,
          gsi1sk: userId,
          userId,
          groupId,
          source,
          createdAt: now.toISOString(),
        },
      },
    },
    {
      ConditionCheck: {
        TableName: config.tableName,
        Key: { pk: `GROUP#${groupId}`, sk: "GROUP" },
        ConditionExpression: "attribute_exists(pk)",
      },
    },
  ];
}

export function removeMembershipItem(userId: string, groupId: string): TransactItem {
  return { Delete: { TableName: config.tableName, Key: membershipKey(userId, groupId) } };
}


export interface GroupMemberPage {
  userIds: { userId: string; source: MembershipSource }[];
  nextCursor: string | null;
}

export async function listGroupMemberIds(groupId: string, limit: number, cursor: string | null): Promise<GroupMemberPage> {
  const partition = `GROUP#${groupId}`;
  const page = await queryPage({
    IndexName: "gsi1",
    KeyConditionExpression: "gsi1pk = :pk",
    ExpressionAttributeValues: { ":pk": partition },
    Limit: limit,
    ExclusiveStartKey: decodeCursor(cursor, { gsi1pk: partition }),
  });
  return {
    userIds: page.items.map((item) => ({ userId: readString(item, "userId"), source: membershipFromItem(item).source })),
    nextCursor: encodeCursor(page.lastKey),
  };
}

/** Every membership key of a group: used when the group is deleted. */
export async function listAllMembershipKeys(groupId: string): Promise<{ pk: string; sk: string }[]> {
  const keys: { pk: string; sk: string }[] = [];
  let cursor: string | null = null;
  do {
    const page = await listGroupMemberIds(groupId, 100, cursor);
    keys.push(...page.userIds.map(({ userId }) => membershipKey(userId, groupId)));
    cursor = page.nextCursor;
  } while (cursor !== null);
  return keys;
}


/** The changes that make `current` equal `target`; new ones get `source`. */
export function diffMemberships(
  current: readonly Membership[],
  target: ReadonlySet<string>,
): { add: string[]; remove: string[] } {
  const currentIds = new Set(current.map((membership) => membership.groupId));
  return {
    add: [...target].filter((groupId) => !currentIds.has(groupId)),
    remove: [...currentIds].filter((groupId) => !target.has(groupId)),
  };
}
