// Serves the three Lambda handlers over plain HTTP, translating requests into API Gateway
// HTTP API (v2) events: used by the tests and the benchmark. `npm start` uses serverless-offline.
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import type { HTTPResponse, LambdaHandler, Route } from "../lib/http.js";

export interface LocalServer {
  url: string;
  close(): Promise<void>;
}

interface LambdaModule {
  routes: Route[];
  handler: LambdaHandler;
}

const maxBodyBytes = 1024 * 1024;

function pathMatches(pattern: string, path: string): boolean {
  const patternParts = pattern.split("/");
  const pathParts = path.split("/");
  return patternParts.length === pathParts.length && patternParts.every((part, index) => part.startsWith("{") || part === pathParts[index]);
}

/** Which Lambda function API Gateway would call for this path. */
function findFunction(modules: LambdaModule[], path: string): LambdaModule | undefined {
  return modules.find((module) => module.routes.some((route) => pathMatches(route.path, path))) ?? modules[0];
}

/** The body, or null when it is over the limit (read to its end, so the client gets the 413). */
function readBody(request: IncomingMessage): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBodyBytes) chunks.push(chunk);
    });
    request.on("end", () => resolve(size > maxBodyBytes ? null : Buffer.concat(chunks)));
    request.on("error", reject);
  });
}

function toEvent(request: IncomingMessage, body: Buffer): APIGatewayProxyEventV2 {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (name === "cookie" || value === undefined) continue;
    headers[name] = Array.isArray(value) ? value.join(",") : value;
  }
  // Split by hand: a request target such as `//x` is a path here, not a protocol-relative URL.
  const target = request.url ?? "/";
  const queryStart = target.indexOf("?");
  const rawPath = queryStart === -1 ? target : target.slice(0, queryStart);
  const rawQueryString = queryStart === -1 ? "" : target.slice(queryStart + 1);
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath,
    rawQueryString,
    cookies: request.headers.cookie?.split(";").map((cookie) => cookie.trim()),
    headers,
    requestContext: {
      accountId: "local",
      apiId: "local",
      domainName: request.headers.host ?? "local",
      domainPrefix: "local",
      http: { method: request.method ?? "GET", path: rawPath, protocol: "HTTP/1.1", sourceIp: request.socket.remoteAddress ?? "", userAgent: request.headers["user-agent"] ?? "" },
      requestId: randomUUID(),
      routeKey: "$default",
      stage: "$default",
      time: new Date().toISOString(),
      timeEpoch: Date.now(),
    },
    body: body.length > 0 ? body.toString("utf8") : undefined,
    isBase64Encoded: false,
  };
}

function writeResponse(response: ServerResponse, result: HTTPResponse): void {
  for (const [name, value] of Object.entries(result.headers)) response.setHeader(name, value);
  if (result.cookies !== undefined && result.cookies.length > 0) response.setHeader("set-cookie", result.cookies);
  response.statusCode = result.statusCode;
  response.end(result.body ?? "");
}

/**
 * Listens on `port`, then loads the handlers: configuration is read when they load, so the
 * environment (PUBLIC_URL, TABLE_NAME, ...) must be set before this is called.
 */
export async function startLocalServer(port: number, host = "127.0.0.1"): Promise<LocalServer> {
  const modules: LambdaModule[] = await Promise.all([
    import("../functions/auth.js"),
    import("../functions/settings.js"),
    import("../functions/provisioning.js"),
  ]);
  const [{ errorResponse }, { PayloadTooLargeError }] = await Promise.all([import("../lib/http.js"), import("../lib/errors.js")]);
  const server = createServer(async (request, response) => {
    try {
      const body = await readBody(request);
      if (body === null) {
        // What API Gateway does beyond its payload limit, with our usual headers.
        writeResponse(response, errorResponse(new PayloadTooLargeError("The request body is too large."), "api"));
        return;
      }
      const event = toEvent(request, body);
      const module = findFunction(modules, event.rawPath);
      writeResponse(response, await module!.handler(event));
    } catch {
      // API Gateway answers 500 when a Lambda crashes; the handlers are built never to.
      response.statusCode = 500;
      response.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  return {
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
