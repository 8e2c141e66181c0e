// API tokens for automation: shown once at creation, stored only as a SHA-256 hash.
import { GetCommand } from "@aws-sdk/lib-dynamodb";
import { auditPut } from "./audit.js";
import type { Actor } from "./audit.js";
import { config } from "./config.js";
import { generateId, generateSecretToken, sha256 } from "./crypto.js";
import { batchDelete, db, epochSeconds, queryAll, transactWrite } from "./db.js";
import type { Item } from "./db.js";
import { ConflictError, NotFoundError } from "./errors.js";
import { integerRule, parseBody, stringRule } from "./input.js";
import { readOptionalNumber, readString } from "./parse.js";

export interface APIToken {
  id: string;
  name: string;
  createdAt: string;
  expiresAt: string | null;
}

export interface CreatedAPIToken extends APIToken {
  token: string;
}

const tokenPrefix = "gljit_";
/** Keeps every user's token list one small query. */
export const maxTokensPerUser = 50;

function tokenKey(tokenHash: string): { pk: string; sk: string } {
  return { pk: `TOKEN#${tokenHash}`, sk: `TOKEN#${tokenHash}` };
}

function tokenFromItem(item: Item): APIToken {
  const expires = readOptionalNumber(item, "expiresAt");
  return {
    id: readString(item, "id"),
    name: readString(item, "name"),
    createdAt: readString(item, "createdAt"),
    expiresAt: expires === null ? null : new Date(expires * 1000).toISOString(),
  };
}

const tokenRules = {
  name: stringRule({ min: 1, max: 100 }),
  expiresInDays: integerRule(1, 3650),
};

export async function createAPIToken(owner: { id: string; login: string }, body: unknown, actor: Actor, now: Date = new Date()): Promise<CreatedAPIToken> {
  const userId = owner.id;
  const input = parseBody(body, tokenRules, ["name"]);
  if ((await listAPITokens(userId, now)).length >= maxTokensPerUser) {
    throw new ConflictError(`You already have ${maxTokensPerUser} API tokens. Revoke one you no longer use first.`);
  }
  // The prefix lets secret scanners recognise a leaked token.
  const token = tokenPrefix + generateSecretToken(32);
  const id = generateId(now);
  const expiresAt = input.expiresInDays === undefined ? undefined : epochSeconds(now) + input.expiresInDays * 86400;
  await transactWrite([
    {
      Put: {
        TableName: config.tableName,
        Item: {
          ...tokenKey(sha256(token)),
          gsi1pk: `USERTOKENS#${userId}`,
          gsi1sk: id,
          id,
          userId,
          name: input.name ?? "",
          createdAt: now.toISOString(),
          expiresAt,
        },
        ConditionExpression: "attribute_not_exists(pk)",
      },
    },
    auditPut("token.created", actor, owner.login, { tokenId: id, name: input.name }, now),
  ]);
  return { ...tokenFromItem({ id, name: input.name, createdAt: now.toISOString(), expiresAt }), token };
}

/** The owner of a live token, or null. Expiry is checked here; TTL only cleans up. */
export async function getAPITokenOwner(token: string, now: Date = new Date()): Promise<{ userId: string; tokenId: string; createdAt: string } | null> {
  if (!token.startsWith(tokenPrefix) || token.length > 100) return null;
  const result = await db.send(new GetCommand({ TableName: config.tableName, Key: tokenKey(sha256(token)), ConsistentRead: true }));
  if (!result.Item) return null;
  const expires = readOptionalNumber(result.Item, "expiresAt");
  if (expires !== null && epochSeconds(now) >= expires) return null;
  return { userId: readString(result.Item, "userId"), tokenId: readString(result.Item, "id"), createdAt: readString(result.Item, "createdAt") };
}

async function listTokenItems(userId: string): Promise<Item[]> {
  return queryAll({
    IndexName: "gsi1",
    KeyConditionExpression: "gsi1pk = :pk",
    ExpressionAttributeValues: { ":pk": `USERTOKENS#${userId}` },
  });
}

/** A user's tokens: few per user, so one bounded query. Never the token values. */
export async function listAPITokens(userId: string, now: Date = new Date()): Promise<APIToken[]> {
  const nowSeconds = epochSeconds(now);
  return (await listTokenItems(userId))
    .filter((item) => {
      const expires = readOptionalNumber(item, "expiresAt");
      return expires === null || expires > nowSeconds;
    })
    .map(tokenFromItem);
}

export async function revokeAPIToken(owner: { id: string; login: string }, tokenId: string, actor: Actor): Promise<APIToken> {
  const item = (await listTokenItems(owner.id)).find((candidate) => candidate.id === tokenId);
  if (item === undefined) throw new NotFoundError(`No token with id ${tokenId}.`);
  const token = tokenFromItem(item);
  await transactWrite([
    { Delete: { TableName: config.tableName, Key: { pk: readString(item, "pk"), sk: readString(item, "sk") } } },
    auditPut("token.revoked", actor, owner.login, { tokenId: token.id, name: token.name }),
  ]);
  return token;
}

export async function revokeAllAPITokensOf(userId: string): Promise<number> {
  const items = await listTokenItems(userId);
  await batchDelete(items.map((item) => ({ pk: readString(item, "pk"), sk: readString(item, "sk") })));
  return items.length;
}
