// The settings API: read and change the GitLab authentication settings (Administer System).
import { actorOf, requireAdmin } from "../lib/auth.js";
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

export const routes: Route[] = [
  { method: "GET", path: "/api/settings/gitlab", kind: "api", handle: readSettings },
  { method: "PATCH", path: "/api/settings/gitlab", kind: "api", handle: changeSettings },
];

export const handler = createHandler(routes);
