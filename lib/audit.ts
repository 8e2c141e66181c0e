// The audit log: every provisioning event, written in the same transaction as the change it records.
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import { config } from "./config.js";
import { generateId } from "./crypto.js";
import { db, epochSeconds, queryPage } from "./db.js";
import type { Item, TransactItem } from "./db.js";
import { decodeCursor, encodeCursor } from "./cursor.js";
import { isRecord, readOptionalString, readString } from "./parse.js";

export type AuditType =
  | "user.created"
  | "user.linked"
  | "user.updated"
  | "user.renamed"
  | "user.deactivated"
  | "user.reactivated"
  | "signin.refused"
  | "membership.added"
  | "membership.removed"
  | "memberships.synchronized"
  | "group.created"
  | "group.updated"
  | "group.deleted"
  | "settings.changed"
  | "token.created"
  | "token.revoked";

/** Who did it: a user through a session or a token, or GitLab synchronization at sign-in. */
export interface Actor {
  kind: "user" | "token" | "gitlab";
  login: string | null;
  tokenId?: string;
}

export interface AuditEvent {
  id: string;
  type: AuditType;
  at: string;
  actor: Actor;
  /** The user the event is about, when there is one. */
  login: string | null;
  details: Record<string, unknown>;
}

const partition = "AUDIT";

export function auditItem(type: AuditType, actor: Actor, login: string | null, details: Record<string, unknown>, now: Date = new Date()): Item {
  const id = generateId(now);
  const sortKey = `${now.toISOString()}#${id}`;
  return {
    pk: partition,
    sk: sortKey,
    ...(login !== null && { gsi1pk: `AUDITLOGIN#${login.toLowerCase()}`, gsi1sk: sortKey }),
    id,
    type,
    at: now.toISOString(),
    actor,
    login,
    details,
    expiresAt: epochSeconds(now) + config.auditRetentionDays * 86400,
  };
}

export function auditPut(type: AuditType, actor: Actor, login: string | null, details: Record<string, unknown>, now?: Date): TransactItem {
  return { Put: { TableName: config.tableName, Item: auditItem(type, actor, login, details, now) } };
}

/** For events that change nothing else, such as a refused sign-in. */
export async function recordAuditEvent(type: AuditType, actor: Actor, login: string | null, details: Record<string, unknown>): Promise<void> {
  await db.send(new PutCommand({ TableName: config.tableName, Item: auditItem(type, actor, login, details) }));
}

function eventFromItem(item: Item): AuditEvent {
  const actor = isRecord(item.actor) ? item.actor : {};
  const kind = actor.kind === "token" || actor.kind === "gitlab" ? actor.kind : "user";
  return {
    id: readString(item, "id"),
    type: readString(item, "type") as AuditType,
    at: readString(item, "at"),
    actor: {
      kind,
      login: typeof actor.login === "string" ? actor.login : null,
      ...(typeof actor.tokenId === "string" && { tokenId: actor.tokenId }),
    },
    login: readOptionalString(item, "login"),
    details: isRecord(item.details) ? item.details : {},
  };
}

export interface AuditPage {
  items: AuditEvent[];
  nextCursor: string | null;
}

/** Newest first. With `login`, reads that user's index partition; `type` filters within the page. */
export async function listAuditEvents(options: { limit: number; cursor: string | null; type: string; login: string }): Promise<AuditPage> {
  const byLogin = options.login !== "";
  const partitionValue = byLogin ? `AUDITLOGIN#${options.login.toLowerCase()}` : partition;
  const keyName = byLogin ? "gsi1pk" : "pk";
  const page = await queryPage({
    ...(byLogin && { IndexName: "gsi1" }),
    KeyConditionExpression: `${keyName} = :pk`,
    ExpressionAttributeValues: { ":pk": partitionValue, ...(options.type !== "" && { ":type": options.type }) },
    ...(options.type !== "" && { FilterExpression: "#type = :type", ExpressionAttributeNames: { "#type": "type" } }),
    ScanIndexForward: false,
    Limit: options.limit,
    ExclusiveStartKey: decodeCursor(options.cursor, { [keyName]: partitionValue }),
  });
  return { items: page.items.map(eventFromItem), nextCursor: encodeCursor(page.lastKey) };
}
