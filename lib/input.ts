// Parsing of JSON request bodies into typed values, naming every bad field at once.
import { ValidationError } from "./errors.js";
import type { FieldError } from "./errors.js";
import { isRecord } from "./parse.js";

type Check<T> = { ok: true; value: T } | { ok: false; message: string };
export type Rule<T> = (value: unknown) => Check<T>;
type Parsed<S> = { [K in keyof S]?: S[K] extends Rule<infer T> ? T : never };

export function parseBody<S extends Record<string, Rule<unknown>>>(
  body: unknown,
  rules: S,
  required: readonly (keyof S & string)[] = [],
): Parsed<S> {
  if (!isRecord(body)) throw new ValidationError("The request body must be a JSON object.");
  const errors: FieldError[] = [];
  const parsed: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(body)) {
    const rule = Object.hasOwn(rules, field) ? rules[field] : undefined;
    if (rule === undefined) {
      errors.push({ field, message: "is not a known field" });
      continue;
    }
    const check = rule(value);
    if (check.ok) parsed[field] = check.value;
    else errors.push({ field, message: check.message });
  }
  for (const field of required) {
    if (!(field in body)) errors.push({ field, message: "is required" });
  }
  if (errors.length > 0) {
    throw new ValidationError(`Invalid ${errors.map((error) => error.field).join(", ")}.`, errors);
  }
  return parsed as Parsed<S>;
}

export function booleanRule(): Rule<boolean> {
  return (value) => (typeof value === "boolean" ? { ok: true, value } : { ok: false, message: "must be true or false" });
}

export function stringRule(options: { max: number; min?: number; test?: (value: string) => boolean; hint?: string }): Rule<string> {
  const min = options.min ?? 0;
  return (value) => {
    if (typeof value !== "string") return { ok: false, message: "must be a string" };
    if (value.length < min) return { ok: false, message: min === 1 ? "must not be empty" : `must have at least ${min} characters` };
    if (value.length > options.max) return { ok: false, message: `must have at most ${options.max} characters` };
    if (options.test && !options.test(value)) return { ok: false, message: options.hint ?? "is not valid" };
    return { ok: true, value };
  };
}

export function integerRule(min: number, max: number): Rule<number> {
  return (value) =>
    typeof value === "number" && Number.isInteger(value) && value >= min && value <= max
      ? { ok: true, value }
      : { ok: false, message: `must be an integer from ${min} to ${max}` };
}

export function stringListRule(options: { max: number; test: (value: string) => boolean; hint: string }): Rule<string[]> {
  return (value) => {
    if (!Array.isArray(value)) return { ok: false, message: "must be an array of strings" };
    if (value.length > options.max) return { ok: false, message: `must have at most ${options.max} entries` };
    const bad = value.filter((item) => typeof item !== "string" || !options.test(item));
    if (bad.length > 0) return { ok: false, message: `${options.hint}; invalid: ${bad.slice(0, 5).map((item) => String(JSON.stringify(item)).slice(0, 80)).join(", ")}` };
    return { ok: true, value: [...new Set(value as string[])] };
  };
}
