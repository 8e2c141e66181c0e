// The audit log: every provisioning event, written in the same transaction as the change it records.
// Events live in one partition per type (`AUDIT#<type>`), sorted by `<time>#<id>`; a user's
// events are also indexed in gsi1 under `AUDITLOGIN#<login>`. Every listing is a key-ordered
// Query: newest first, by type, by user, or all types merged. DynamoDB's TTL removes events
// after the retention period.
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import { config } from "./config.js";
import { generateId } from "./crypto.js";
import { db, epochSeconds, queryPage } from "./db.js";
import type { Item, TransactItem } from "./db.js";
import { decodeCursor, encodeCursor } from "./cursor.js";
import { ValidationError } from "./errors.js";
import { isRecord, readOptionalString, readString } from "./parse.js";

export const auditTypes = [
  "user.created",
  "user.linked",
  "user.updated",
  "user.renamed",
  "user.deactivated",
  "user.reactivated",
  "signin.refused",
  "membership.added",
  "membership.removed",
  "group.created",
  "group.updated",
  "group.deleted",
  "settings.changed",
  "token.created",
  "token.revoked",
] as const;

export type AuditType = (typeof auditTypes)[number];

export function isAuditType(value: string): value is AuditType {
  return (auditTypes as readonly string[]).includes(value);
}

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

function typePartition(type: AuditType): string {
  return `AUDIT#${type}`;
}

function loginPartition(login: string): string {
  return `AUDITLOGIN#${login.toLowerCase()}`;
}

export function auditItem(type: AuditType, actor: Actor, login: string | null, details: Record<string, unknown>, now: Date = new Date()): Item {
  const id = generateId(now);
  const position = `${now.toISOString()}#${id}`;
  return {
    pk: typePartition(type),
    sk: position,
    ...(login !== null && { gsi1pk: loginPartition(login), gsi1sk: position }),
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
  const type = readString(item, "type");
  if (!isAuditType(type)) throw new TypeError(`unknown audit event type ${type}`);
  return {
    id: readString(item, "id"),
    type,
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

export interface AuditQuery {
  limit: number;
  cursor: string | null;
  /** An audit type, or "" for every type. */
  type: string;
  /** The login the events are about, or "" for everyone. */
  login: string;
}

const positionPattern = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z#[0-9a-z]{1,40}$/;

/** A cursor is the position of the last event shown: the next page starts just below it. */
function decodePosition(cursor: string | null): string | null {
  const key = decodeCursor(cursor, {});
  if (key === undefined) return null;
  const position = key.sk;
  if (Object.keys(key).length !== 1 || typeof position !== "string" || !positionPattern.test(position)) {
    throw new ValidationError("The cursor is not valid for this listing.", [{ field: "cursor", message: "is not a cursor returned by this listing" }]);
  }
  return position;
}

interface Source {
  index: "gsi1" | null;
  partition: string;
  /** Only this type, for a partition that holds several. */
  type: AuditType | null;
}

/**
 * Up to `want` events of one partition older than `before`, newest first. Events past their
 * expiry that TTL has not removed yet (it may take a day or two) are left out; they sit at the
 * old end of the partition, so the filter rarely costs an extra page.
 */
async function newestEvents(source: Source, before: string | null, want: number, now: Date): Promise<Item[]> {
  const [partitionName, sortName] = source.index === null ? ["pk", "sk"] : ["gsi1pk", "gsi1sk"];
  const names: Record<string, string> = { "#partition": partitionName };
  const values: Record<string, unknown> = { ":partition": source.partition, ":now": epochSeconds(now) };
  let condition = "#partition = :partition";
  if (before !== null) {
    condition += " AND #sort < :before";
    names["#sort"] = sortName;
    values[":before"] = before;
  }
  let filter = "expiresAt > :now";
  if (source.type !== null) {
    filter += " AND #type = :type";
    names["#type"] = "type";
    values[":type"] = source.type;
  }
  const found: Item[] = [];
  let startKey: Item | undefined;
  do {
    const page = await queryPage({
      ...(source.index !== null && { IndexName: source.index }),
      KeyConditionExpression: condition,
      FilterExpression: filter,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
      ScanIndexForward: false,
      // A type filter within a user's events may skip many: read bigger pages then.
      Limit: source.type === null ? want : Math.max(want, 100),
      ExclusiveStartKey: startKey,
    });
    found.push(...page.items);
    startKey = page.lastKey ?? undefined;
  } while (startKey !== undefined && found.length < want);
  return found.slice(0, want);
}

function comparePositionsNewestFirst(a: Item, b: Item): number {
  const left = String(a.sk);
  const right = String(b.sk);
  return left < right ? 1 : left > right ? -1 : 0;
}

/** Newest first, `limit` per page. One Query for a type or a user; every type's partition, merged, otherwise. */
export async function listAuditEvents(query: AuditQuery, now: Date = new Date()): Promise<AuditPage> {
  if (query.type !== "" && !isAuditType(query.type)) {
    throw new ValidationError("Unknown audit event type.", [{ field: "type", message: `must be one of ${auditTypes.join(", ")}` }]);
  }
  const type = query.type === "" ? null : query.type;
  const before = decodePosition(query.cursor);
  // One more than a page tells whether another page exists.
  const want = query.limit + 1;
  let items: Item[];
  if (query.login !== "") {
    items = await newestEvents({ index: "gsi1", partition: loginPartition(query.login), type }, before, want, now);
  } else if (type !== null) {
    items = await newestEvents({ index: null, partition: typePartition(type), type: null }, before, want, now);
  } else {
    const perType = await Promise.all(auditTypes.map((each) => newestEvents({ index: null, partition: typePartition(each), type: null }, before, want, now)));
    items = perType.flat().sort(comparePositionsNewestFirst).slice(0, want);
  }
  const page = items.slice(0, query.limit);
  const last = page[page.length - 1];
  return {
    items: page.map(eventFromItem),
    nextCursor: items.length > query.limit && last !== undefined ? encodeCursor({ sk: readString(last, "sk") }) : null,
  };
}
