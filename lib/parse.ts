// Narrowing helpers for data that crosses a boundary: request bodies, GitLab answers, stored items.

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function readString(source: Record<string, unknown>, key: string): string {
  const value = source[key];
  if (typeof value !== "string") throw new TypeError(`expected string at ${key}`);
  return value;
}

export function readOptionalString(source: Record<string, unknown>, key: string): string | null {
  const value = source[key];
  if (value === undefined || value === null) return null;
  if (typeof value !== "string") throw new TypeError(`expected string at ${key}`);
  return value;
}

export function readNumber(source: Record<string, unknown>, key: string): number {
  const value = source[key];
  if (typeof value !== "number" || !Number.isFinite(value)) throw new TypeError(`expected number at ${key}`);
  return value;
}

export function readOptionalNumber(source: Record<string, unknown>, key: string): number | null {
  const value = source[key];
  if (value === undefined || value === null) return null;
  return readNumber(source, key);
}

export function readBoolean(source: Record<string, unknown>, key: string): boolean {
  const value = source[key];
  if (typeof value !== "boolean") throw new TypeError(`expected boolean at ${key}`);
  return value;
}

export function readStringArray(source: Record<string, unknown>, key: string): string[] {
  const value = source[key];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || !value.every((item) => typeof item === "string")) {
    throw new TypeError(`expected string array at ${key}`);
  }
  return value;
}
