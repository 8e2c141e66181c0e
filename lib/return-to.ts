/**
 * The address to land on after sign-in: only a same-origin relative path, else `/`.
 * Refuses `//host`, `/\host`, schemes, control characters and anything URL parsing would
 * move to another origin.
 */
export function safeReturnTo(value: string | null | undefined): string {
  if (typeof value !== "string" || value === "" || value.length > 2048) return "/";
  if (!value.startsWith("/") || value.startsWith("//") || value.startsWith("/\\")) return "/";
  if (/[\u0000-\u001f\u007f\\]/.test(value)) return "/";
  const base = "https://gitlab-jit.invalid";
  let parsed: URL;
  try {
    parsed = new URL(value, base);
  } catch {
    return "/";
  }
  if (parsed.origin !== base) return "/";
  const result = parsed.pathname + parsed.search + parsed.hash;
  // Dot segments can collapse `/.//host` into `//host`: check the result, not only the input.
  return result.startsWith("//") ? "/" : result;
}
