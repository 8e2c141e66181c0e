// HTTP plumbing shared by the Lambda handlers: requests, responses, cookies, security headers,
// routing, and the one place where domain errors become status codes.
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from "aws-lambda";
import { isSecureDeployment } from "./config.js";
import {
  BusyError,
  ConflictError,
  ForbiddenError,
  GitLabUnavailableError,
  InvalidSignInRequestError,
  MethodNotAllowedError,
  NotFoundError,
  PayloadTooLargeError,
  PreconditionFailedError,
  SignInRefusedError,
  UnauthenticatedError,
  UnsupportedMediaTypeError,
  ValidationError,
} from "./errors.js";
import { logError, logInfo, setLogContext } from "./log.js";
import { messagePage } from "./pages.js";

export interface HTTPRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  /** Lower-cased header names. */
  headers: Record<string, string>;
  cookies: Map<string, string>;
  body: string | null;
  requestId: string;
}

export type HTTPResponse = APIGatewayProxyStructuredResultV2 & { statusCode: number; headers: Record<string, string> };

const maxBodyBytes = 64 * 1024;

export function requestFromEvent(event: APIGatewayProxyEventV2): HTTPRequest {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (value !== undefined) headers[name.toLowerCase()] = value;
  }
  const cookieHeader = [...(event.cookies ?? []), headers.cookie ?? ""].join("; ");
  let body = event.body ?? null;
  if (body !== null && event.isBase64Encoded) body = Buffer.from(body, "base64").toString("utf8");
  return {
    method: event.requestContext?.http?.method?.toUpperCase() ?? "GET",
    path: event.rawPath ?? "/",
    query: new URLSearchParams(event.rawQueryString ?? ""),
    headers,
    cookies: parseCookies(cookieHeader),
    body,
    requestId: event.requestContext?.requestId ?? "local",
  };
}

export function parseCookies(header: string): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const part of header.split(";")) {
    const index = part.indexOf("=");
    if (index <= 0) continue;
    const name = part.slice(0, index).trim();
    const value = part.slice(index + 1).trim();
    // The first occurrence wins, as browsers send the most specific path first.
    if (name !== "" && !cookies.has(name)) cookies.set(name, value);
  }
  return cookies;
}

export interface CookieOptions {
  maxAgeSeconds?: number;
  path?: string;
  httpOnly?: boolean;
}

/** HttpOnly, SameSite=Lax, Secure on https, never a Domain. */
export function serializeCookie(name: string, value: string, options: CookieOptions = {}): string {
  const parts = [`${name}=${value}`, `Path=${options.path ?? "/"}`, "SameSite=Lax"];
  if (options.httpOnly !== false) parts.push("HttpOnly");
  if (isSecureDeployment()) parts.push("Secure");
  if (options.maxAgeSeconds !== undefined) parts.push(`Max-Age=${options.maxAgeSeconds}`);
  return parts.join("; ");
}

export function clearCookie(name: string, path = "/"): string {
  return serializeCookie(name, "", { maxAgeSeconds: 0, path });
}

/** Parses a JSON body (its size was checked by the handler): content type, syntax. The result is still `unknown`. */
export function parseJSONBody(request: HTTPRequest): unknown {
  const body = request.body ?? "";
  const contentType = (request.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
  if (!/^application\/([a-z0-9.+-]+\+)?json$/.test(contentType)) {
    throw new UnsupportedMediaTypeError("Send the request body as application/json.");
  }
  if (body.trim() === "") throw new ValidationError("The request body must be a JSON object.");
  try {
    return JSON.parse(body);
  } catch {
    throw new ValidationError("The request body is not valid JSON.");
  }
}

function baseHeaders(): Record<string, string> {
  return {
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    ...(isSecureDeployment() && { "strict-transport-security": "max-age=63072000; includeSubDomains" }),
  };
}

export function jsonResponse(statusCode: number, body: unknown, headers: Record<string, string> = {}): HTTPResponse {
  return {
    statusCode,
    headers: { ...baseHeaders(), "content-type": "application/json; charset=utf-8", ...headers },
    body: JSON.stringify(body),
  };
}

export function emptyResponse(statusCode: number, cookies: string[] = []): HTTPResponse {
  return { statusCode, headers: baseHeaders(), cookies, body: "" };
}

export function redirectResponse(location: string, cookies: string[] = []): HTTPResponse {
  return { statusCode: 302, headers: { ...baseHeaders(), location }, cookies, body: "" };
}

export function pageCSP(styleNonce: string, scriptSources = "'none'"): string {
  return `default-src 'none'; style-src 'nonce-${styleNonce}'; script-src ${scriptSources}; img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'`;
}

export function htmlResponse(statusCode: number, html: string, csp: string, cookies: string[] = []): HTTPResponse {
  return {
    statusCode,
    headers: { ...baseHeaders(), "content-type": "text/html; charset=utf-8", "content-security-policy": csp },
    cookies,
    body: html,
  };
}

export function pageResponse(statusCode: number, title: string, message: string, cookies: string[] = []): HTTPResponse {
  const page = messagePage(title, message);
  return htmlResponse(statusCode, page.html, pageCSP(page.styleNonce), cookies);
}

export interface Problem {
  status: number;
  title: string;
  detail: string;
  errors?: { field: string; message: string }[];
}

export function problemResponse(problem: Problem): HTTPResponse {
  const type = `https://gitlab-jit.dev/problems/${problem.title.toLowerCase().replace(/[^a-z]+/g, "-")}`;
  return jsonResponse(problem.status, { type, ...problem }, { "content-type": "application/problem+json; charset=utf-8" });
}

/** The single mapping of domain errors to HTTP status codes. */
export function problemFromError(error: unknown): Problem {
  if (error instanceof ValidationError) {
    return { status: 400, title: "Bad Request", detail: error.message, ...(error.errors.length > 0 && { errors: error.errors }) };
  }
  if (error instanceof InvalidSignInRequestError) return { status: 400, title: "Bad Request", detail: error.message };
  if (error instanceof UnauthenticatedError) return { status: 401, title: "Unauthorized", detail: error.message };
  if (error instanceof ForbiddenError) return { status: 403, title: "Forbidden", detail: error.message };
  if (error instanceof SignInRefusedError) return { status: 403, title: "Forbidden", detail: error.message };
  if (error instanceof NotFoundError) return { status: 404, title: "Not Found", detail: error.message };
  if (error instanceof MethodNotAllowedError) return { status: 405, title: "Method Not Allowed", detail: error.message };
  if (error instanceof ConflictError) return { status: 409, title: "Conflict", detail: error.message };
  if (error instanceof PreconditionFailedError) return { status: 412, title: "Precondition Failed", detail: error.message };
  if (error instanceof PayloadTooLargeError) return { status: 413, title: "Payload Too Large", detail: error.message };
  if (error instanceof UnsupportedMediaTypeError) return { status: 415, title: "Unsupported Media Type", detail: error.message };
  if (error instanceof GitLabUnavailableError) return { status: 502, title: "Bad Gateway", detail: error.message };
  if (error instanceof BusyError || isThrottling(error)) return { status: 503, title: "Service Unavailable", detail: "The service is busy. Please try again in a moment." };
  return { status: 500, title: "Internal Server Error", detail: "Something went wrong on our side. Please try again." };
}

function isThrottling(error: unknown): boolean {
  return (
    error instanceof Error &&
    ["ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded", "TransactionCanceledException", "TransactionConflictException"].includes(error.name)
  );
}

const pageTitles: Record<number, string> = {
  400: "Sign-in could not be verified",
  403: "Access refused",
  404: "Page not found",
  502: "GitLab is not available",
  503: "Please try again",
  500: "Something went wrong",
};

// ---- Routing

export type RouteHandler = (request: HTTPRequest, params: Record<string, string>) => Promise<HTTPResponse>;

export interface Route {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** API Gateway syntax, e.g. `/api/groups/{id}/members/{login}`. */
  path: string;
  /** Browser routes answer errors with pages, API routes with problem details. */
  kind: "api" | "page";
  handle: RouteHandler;
}

function matchPath(pattern: string, path: string): Record<string, string> | null {
  const patternParts = pattern.split("/");
  const pathParts = path.split("/");
  if (patternParts.length !== pathParts.length) return null;
  const params: Record<string, string> = {};
  for (const [index, part] of patternParts.entries()) {
    const actual = pathParts[index]!;
    if (part.startsWith("{") && part.endsWith("}")) {
      let decoded: string;
      try {
        decoded = decodeURIComponent(actual);
      } catch {
        return null;
      }
      if (decoded === "") return null;
      params[part.slice(1, -1)] = decoded;
    } else if (part !== actual) {
      return null;
    }
  }
  return params;
}

export type LambdaHandler = (event: APIGatewayProxyEventV2) => Promise<HTTPResponse>;

/** One Lambda handler for a set of routes, with logging and error mapping. */
export function createHandler(routes: Route[]): LambdaHandler {
  return async function handle(event) {
    const started = Date.now();
    const request = requestFromEvent(event);
    setLogContext({ requestId: request.requestId });
    const candidates = routes
      .map((route) => ({ route, params: matchPath(route.path, request.path) }))
      .filter((candidate): candidate is { route: Route; params: Record<string, string> } => candidate.params !== null);
    const match = candidates.find(({ route }) => route.method === request.method || (route.method === "GET" && request.method === "HEAD"));
    const kind = match?.route.kind ?? candidates[0]?.route.kind ?? "api";
    let response: HTTPResponse;
    try {
      // Every route, including those that ignore their body: nothing large is worth reading.
      if (request.body !== null && Buffer.byteLength(request.body, "utf8") > maxBodyBytes) {
        throw new PayloadTooLargeError(`The request body is larger than ${maxBodyBytes} bytes.`);
      }
      if (match === undefined) {
        throw candidates.length > 0 ? new MethodNotAllowedError(`${request.method} is not supported here.`) : new NotFoundError("There is nothing at this address.");
      }
      response = await match.route.handle(request, match.params);
    } catch (error) {
      response = errorResponse(error, kind);
      if (response.statusCode >= 500) logError("request failed", error, { method: request.method, route: match?.route.path });
    }
    logInfo("request", { method: request.method, route: match?.route.path ?? null, status: response.statusCode, ms: Date.now() - started });
    return response;
  };
}

export function errorResponse(error: unknown, kind: "api" | "page", cookies: string[] = []): HTTPResponse {
  const problem = problemFromError(error);
  if (kind === "page") return pageResponse(problem.status, pageTitles[problem.status] ?? "Something went wrong", problem.detail, cookies);
  const response = problemResponse(problem);
  return { ...response, cookies };
}
