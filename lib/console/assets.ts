// The console's script, served from the service itself at a versioned address.
import { sha256 } from "../crypto.js";
import type { HTTPRequest, HTTPResponse } from "../http.js";
import { consoleApp } from "./app.js";

// Under tsx (tests, `npm start`) the function text calls a `__name` helper that lives outside it;
// the Lambda bundle does not. The local stand-in makes the same text run in both.
export const consoleScript = `"use strict";(()=>{const __name=(target)=>target;(${consoleApp.toString()})();})();\n`;

const version = sha256(consoleScript).slice(0, 16);
const etag = `"${version}"`;

export const consoleScriptPath = "/assets/console.js";
/** The address pages link to: a new deployment with new code gets a new address. */
export const consoleScriptURL = `${consoleScriptPath}?v=${version}`;

/** Cached for a year at its versioned address, briefly otherwise; revalidated by ETag. */
export function consoleScriptResponse(request: HTTPRequest): HTTPResponse {
  const headers: Record<string, string> = {
    "content-type": "text/javascript; charset=utf-8",
    "cache-control": request.query.get("v") === version ? "public, max-age=31536000, immutable" : "public, max-age=300",
    "x-content-type-options": "nosniff",
    etag,
  };
  if (request.headers["if-none-match"] === etag) return { statusCode: 304, headers, body: "" };
  return { statusCode: 200, headers, body: consoleScript };
}
