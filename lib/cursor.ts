// Opaque page cursors: an encoding of DynamoDB's LastEvaluatedKey, validated on the way back in.
import { ValidationError } from "./errors.js";
import type { Item } from "./db.js";

const keyNames = new Set(["pk", "sk", "gsi1pk", "gsi1sk"]);

export function encodeCursor(lastKey: Item | null): string | null {
  if (lastKey === null) return null;
  return Buffer.from(JSON.stringify(lastKey), "utf8").toString("base64url");
}

/** Returns the start key, or throws a ValidationError naming `cursor`. The partition must match. */
export function decodeCursor(cursor: string | null, expected: Partial<Record<string, string>>): Item | undefined {
  if (cursor === null || cursor === "") return undefined;
  const invalid = new ValidationError("The cursor is not valid for this listing.", [
    { field: "cursor", message: "is not a cursor returned by this listing" },
  ]);
  if (cursor.length > 2048 || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw invalid;
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    throw invalid;
  }
  if (typeof decoded !== "object" || decoded === null || Array.isArray(decoded)) throw invalid;
  const entries = Object.entries(decoded);
  if (entries.length === 0) throw invalid;
  for (const [name, value] of entries) {
    if (!keyNames.has(name) || typeof value !== "string" || value.length > 1024) throw invalid;
  }
  for (const [name, value] of Object.entries(expected)) {
    if ((decoded as Record<string, unknown>)[name] !== value) throw invalid;
  }
  // DynamoDB rejects a start key that is not exactly the key attributes of the table (and index).
  const required = "gsi1pk" in expected ? ["pk", "sk", "gsi1pk", "gsi1sk"] : "pk" in expected ? ["pk", "sk"] : null;
  if (required !== null && (entries.length !== required.length || required.some((name) => !(name in decoded)))) throw invalid;
  return decoded as Item;
}

export function parseLimit(value: string | null, fallback = 50, max = 100): number {
  if (value === null || value === "") return fallback;
  const limit = Number(value);
  if (!/^\d+$/.test(value) || !Number.isInteger(limit) || limit < 1 || limit > max) {
    throw new ValidationError("The limit is out of range.", [
      { field: "limit", message: `must be an integer from 1 to ${max}` },
    ]);
  }
  return limit;
}
