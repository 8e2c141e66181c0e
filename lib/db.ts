// The DynamoDB document client, created once per container, and the few helpers every
// entity module shares: batched reads with retry of unprocessed keys, chunked transactions.
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  BatchGetCommand,
  BatchWriteCommand,
  DynamoDBDocumentClient,
  QueryCommand,
  TransactWriteCommand,
} from "@aws-sdk/lib-dynamodb";
import type { QueryCommandInput, TransactWriteCommandInput } from "@aws-sdk/lib-dynamodb";
import { config } from "./config.js";
import { transactionCancellationCodes } from "./errors.js";

export type Item = Record<string, unknown>;
export type Key = { pk: string; sk: string };
export type TransactItem = NonNullable<TransactWriteCommandInput["TransactItems"]>[number];

export const tableName = config.tableName;

const client = new DynamoDBClient({ maxAttempts: 4 });
let requestCount = 0;
client.middlewareStack.add(
  (next) => async (args) => {
    requestCount += 1;
    return next(args);
  },
  { step: "initialize", name: "countRequests" },
);

export const db = DynamoDBDocumentClient.from(client, {
  marshallOptions: { removeUndefinedValues: true },
});

/** How many DynamoDB requests this process has sent: the benchmark reads it. */
export function dynamoDBRequestCount(): number {
  return requestCount;
}

export function epochSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

/** Reads up to any number of keys, 100 per request, retrying unprocessed keys. */
export async function batchGet(keys: Key[], consistent = false): Promise<Item[]> {
  const found: Item[] = [];
  for (let start = 0; start < keys.length; start += 100) {
    let pending: Item[] = keys.slice(start, start + 100);
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > 0) await backoff(attempt);
      if (attempt > 8) throw new Error("DynamoDB kept returning unprocessed keys");
      const result = await db.send(
        new BatchGetCommand({
          RequestItems: { [tableName]: { Keys: pending, ConsistentRead: consistent } },
        }),
      );
      found.push(...((result.Responses?.[tableName] ?? []) as Item[]));
      pending = (result.UnprocessedKeys?.[tableName]?.Keys ?? []) as Item[];
    }
  }
  return found;
}

/** Deletes keys in batches of 25, retrying unprocessed ones. Idempotent. */
export async function batchDelete(keys: Key[]): Promise<void> {
  for (let start = 0; start < keys.length; start += 25) {
    let pending = keys.slice(start, start + 25).map((key) => ({ DeleteRequest: { Key: key } }));
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > 0) await backoff(attempt);
      if (attempt > 8) throw new Error("DynamoDB kept returning unprocessed items");
      const result = await db.send(new BatchWriteCommand({ RequestItems: { [tableName]: pending } }));
      pending = (result.UnprocessedItems?.[tableName] ?? []) as typeof pending;
    }
  }
}

export interface QueryPage {
  items: Item[];
  lastKey: Item | null;
}

export async function queryPage(input: Omit<QueryCommandInput, "TableName">): Promise<QueryPage> {
  const result = await db.send(new QueryCommand({ ...input, TableName: tableName }));
  return { items: (result.Items ?? []) as Item[], lastKey: (result.LastEvaluatedKey as Item | undefined) ?? null };
}

/** Follows LastEvaluatedKey until the end: only for partitions known to be bounded. */
export async function queryAll(input: Omit<QueryCommandInput, "TableName">): Promise<Item[]> {
  const items: Item[] = [];
  let startKey: Item | undefined;
  do {
    const page = await queryPage({ ...input, ExclusiveStartKey: startKey });
    items.push(...page.items);
    startKey = page.lastKey ?? undefined;
  } while (startKey);
  return items;
}

/**
 * Runs one transaction. When DynamoDB cancels it only because another transaction held an item
 * or it was throttled (no condition failed), nothing was written and it is retried as is.
 */
export async function transactWrite(items: TransactItem[]): Promise<void> {
  if (items.length === 0) return;
  for (let attempt = 1; ; attempt++) {
    try {
      await db.send(new TransactWriteCommand({ TransactItems: items }));
      return;
    } catch (error) {
      if (attempt >= 4 || !isTransientCancellation(error)) throw error;
      await backoff(attempt);
    }
  }
}

function isTransientCancellation(error: unknown): boolean {
  const codes = transactionCancellationCodes(error);
  return codes !== null && codes.some((code) => code === "TransactionConflict" || code === "ThrottlingError") && !codes.includes("ConditionalCheckFailed");
}

function backoff(attempt: number): Promise<void> {
  const delay = Math.min(1000, 25 * 2 ** attempt) * (0.5 + Math.random() / 2);
  return new Promise((resolve) => setTimeout(resolve, delay));
}
