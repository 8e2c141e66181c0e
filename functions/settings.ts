// The settings API (Administer System) and the admin console that uses it: the start page and its script.
import { actorOf, authenticate, requireAdmin } from "../lib/auth.js";
import { consoleScriptPath, consoleScriptResponse } from "../lib/console/assets.js";
import { homePage } from "../lib/home.js";
import { createHandler, jsonResponse, parseJSONBody } from "../lib/http.js";
import type { HTTPRequest, HTTPResponse, Route } from "../lib/http.js";
import { getGitLabSettings, parseIfMatch, settingsETag, toPublicSettings, updateGitLabSettings } from "../lib/settings.js";

async function readSettings(request: HTTPRequest): Promise<HTTPResponse> {
  await requireAdmin(request);
  const settings = await getGitLabSettings();
  return jsonResponse(200, toPublicSettings(settings), { etag: settingsETag(settings) });
}

async function changeSettings(request: HTTPRequest): Promise<HTTPResponse> {
  const principal = await requireAdmin(request);
  const { settings } = await updateGitLabSettings(parseJSONBody(request), parseIfMatch(request.headers["if-match"]), actorOf(principal));
  return jsonResponse(200, toPublicSettings(settings), { etag: settingsETag(settings) });
}

async function home(request: HTTPRequest): Promise<HTTPResponse> {
  return homePage(await authenticate(request));
}

async function consoleScript(request: HTTPRequest): Promise<HTTPResponse> {
  return consoleScriptResponse(request);
}

export const routes: Route[] = [
  { method: "GET", path: "/", kind: "page", handle: home },
  { method: "GET", path: consoleScriptPath, kind: "page", handle: consoleScript },
  { method: "GET", path: "/api/settings/gitlab", kind: "api", handle: readSettings },
  { method: "PATCH", path: "/api/settings/gitlab", kind: "api", handle: changeSettings },
];

export const handler = createHandler(routes);
