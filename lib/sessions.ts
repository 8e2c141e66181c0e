// Browser sessions: the cookie carries a 256-bit random token; only its SHA-256 is stored.
import { DeleteCommand, GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { config } from "./config.js";
import { generateSecretToken, sha256 } from "./crypto.js";
import { batchDelete, db, epochSeconds, queryAll } from "./db.js";
import type { Item, TransactItem } from "./db.js";
import { isConditionalCheckFailed } from "./errors.js";
import { readNumber, readString } from "./parse.js";

export interface Session {
  tokenHash: string;
  userId: string;
  createdAt: string;
  idleExpiresAt: number;
  absoluteExpiresAt: number;
}

function sessionKey(tokenHash: string): { pk: string; sk: string } {
  return { pk: `SESSION#${tokenHash}`, sk: `SESSION#${tokenHash}` };
}

// Extending the idle expiry at most this often keeps reads from turning into writes.
const touchIntervalSeconds = 3600;

/** A new session: the token for the cookie and the item to write with the sign-in. */
export function newSessionItem(userId: string, now: Date): { token: string; item: TransactItem } {
  const token = generateSecretToken(32);
  const nowSeconds = epochSeconds(now);
  const absoluteExpiresAt = nowSeconds + config.sessionAbsoluteSeconds;
  const idleExpiresAt = Math.min(absoluteExpiresAt, nowSeconds + config.sessionIdleSeconds);
  const item: Item = {
    ...sessionKey(sha256(token)),
    gsi1pk: `USERSESSIONS#${userId}`,
    gsi1sk: now.toISOString(),
    userId,
    createdAt: now.toISOString(),
    idleExpiresAt,
    absoluteExpiresAt,
    expiresAt: idleExpiresAt,
  };
  return { token, item: { Put: { TableName: config.tableName, Item: item, ConditionExpression: "attribute_not_exists(pk)" } } };
}

/** The live session for a cookie value, or null when unknown or expired (checked here, not by TTL). */
export async function getSession(token: string, now: Date = new Date()): Promise<Session | null> {
  if (token.length < 40 || token.length > 100) return null;
  const tokenHash = sha256(token);
  const result = await db.send(new GetCommand({ TableName: config.tableName, Key: sessionKey(tokenHash), ConsistentRead: true }));
  if (!result.Item) return null;
  const session: Session = {
    tokenHash,
    userId: readString(result.Item, "userId"),
    createdAt: readString(result.Item, "createdAt"),
    idleExpiresAt: readNumber(result.Item, "idleExpiresAt"),
    absoluteExpiresAt: readNumber(result.Item, "absoluteExpiresAt"),
  };
  const nowSeconds = epochSeconds(now);
  if (nowSeconds >= session.idleExpiresAt || nowSeconds >= session.absoluteExpiresAt) return null;
  return session;
}

/** Slides the idle expiry forward, at most once per touch interval. */
export async function touchSession(session: Session, now: Date = new Date()): Promise<void> {
  const nowSeconds = epochSeconds(now);
  const idleExpiresAt = Math.min(session.absoluteExpiresAt, nowSeconds + config.sessionIdleSeconds);
  if (idleExpiresAt - session.idleExpiresAt < touchIntervalSeconds) return;
  try {
    await db.send(
      new UpdateCommand({
        TableName: config.tableName,
        Key: sessionKey(session.tokenHash),
        UpdateExpression: "SET idleExpiresAt = :idle, expiresAt = :idle",
        ConditionExpression: "attribute_exists(pk)",
        ExpressionAttributeValues: { ":idle": idleExpiresAt },
      }),
    );
  } catch (error) {
    // A session deleted meanwhile (sign-out, deactivation) stays deleted.
    if (!isConditionalCheckFailed(error)) throw error;
  }
}

export async function deleteSession(token: string): Promise<void> {
  await db.send(new DeleteCommand({ TableName: config.tableName, Key: sessionKey(sha256(token)) }));
}

export async function deleteAllSessionsOf(userId: string): Promise<number> {
  const items = await queryAll({
    IndexName: "gsi1",
    KeyConditionExpression: "gsi1pk = :pk",
    ExpressionAttributeValues: { ":pk": `USERSESSIONS#${userId}` },
  });
  await batchDelete(items.map((item) => ({ pk: readString(item, "pk"), sk: readString(item, "sk") })));
  return items.length;
}
