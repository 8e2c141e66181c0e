import { createHash, randomBytes } from "node:crypto";

/** A random secret, base64url: 32 bytes = 256 bits unless told otherwise. */
export function generateSecretToken(bytes = 32): string {
  return randomBytes(bytes).toString("base64url");
}

export function sha256(value: string): string {
  return createHash("sha256").update(value).digest("base64url");
}

/** An opaque identifier: time-ordered prefix (so listings sort by creation) and 80 random bits. */
export function generateId(now: Date = new Date()): string {
  return now.getTime().toString(36).padStart(9, "0") + randomBytes(10).toString("hex");
}
