// Structured JSON logs. Values under sensitive-looking keys are never written.

const sensitiveKey = /token|secret|code|state|cookie|authorization|password|verifier|session/i;

type Level = "debug" | "info" | "warn" | "error";

let context: Record<string, unknown> = {};

export function setLogContext(fields: Record<string, unknown>): void {
  context = fields;
}

function redact(fields: Record<string, unknown>): Record<string, unknown> {
  const safe: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) safe[key] = sensitiveKey.test(key) ? "[redacted]" : value;
  return safe;
}

function write(level: Level, message: string, fields: Record<string, unknown>): void {
  if (process.env.LOG_LEVEL === "silent") return;
  const line = { level, time: new Date().toISOString(), message, ...context, ...redact(fields) };
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

export function logInfo(message: string, fields: Record<string, unknown> = {}): void {
  write("info", message, fields);
}

export function logWarn(message: string, fields: Record<string, unknown> = {}): void {
  write("warn", message, fields);
}

/** Errors are logged by name and message only: causes may quote upstream bodies. */
export function logError(message: string, error: unknown, fields: Record<string, unknown> = {}): void {
  const detail = error instanceof Error ? { errorName: error.name, errorMessage: error.message } : { errorName: typeof error };
  write("error", message, { ...fields, ...detail });
}
