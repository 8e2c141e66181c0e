// The provisioning API: users, groups, memberships, API tokens and the audit log (Administer System).
import { listAuditEvents } from "../lib/audit.js";
import { actorOf, requireAdmin } from "../lib/auth.js";
import { parseLimit } from "../lib/cursor.js";
import { createGroup, deleteGroup, listGroups, requireGroup, updateGroup } from "../lib/groups.js";
import { createHandler, emptyResponse, jsonResponse, parseJSONBody } from "../lib/http.js";
import type { HTTPRequest, HTTPResponse, Route } from "../lib/http.js";
import {
  addMemberByAdmin,
  createUserByAdmin,
  getUserView,
  listMembers,
  listUserViews,
  removeMemberByAdmin,
  updateUserByAdmin,
} from "../lib/provisioning.js";
import { createAPIToken, listAPITokens, revokeAPIToken } from "../lib/tokens.js";

function pageParams(request: HTTPRequest): { q: string; limit: number; cursor: string | null } {
  return { q: (request.query.get("q") ?? "").slice(0, 255), limit: parseLimit(request.query.get("limit")), cursor: request.query.get("cursor") };
}

async function listUsersRoute(request: HTTPRequest): Promise<HTTPResponse> {
  await requireAdmin(request);
  const { q, limit, cursor } = pageParams(request);
  return jsonResponse(200, await listUserViews(q, limit, cursor));
}

async function createUserRoute(request: HTTPRequest): Promise<HTTPResponse> {
  const principal = await requireAdmin(request);
  return jsonResponse(201, await createUserByAdmin(parseJSONBody(request), actorOf(principal)));
}

async function getUserRoute(request: HTTPRequest, params: Record<string, string>): Promise<HTTPResponse> {
  await requireAdmin(request);
  return jsonResponse(200, await getUserView(params.login!));
}

async function updateUserRoute(request: HTTPRequest, params: Record<string, string>): Promise<HTTPResponse> {
  const principal = await requireAdmin(request);
  return jsonResponse(200, await updateUserByAdmin(params.login!, parseJSONBody(request), actorOf(principal)));
}

async function listGroupsRoute(request: HTTPRequest): Promise<HTTPResponse> {
  await requireAdmin(request);
  const { q, limit, cursor } = pageParams(request);
  return jsonResponse(200, await listGroups(q, limit, cursor));
}

async function createGroupRoute(request: HTTPRequest): Promise<HTTPResponse> {
  const principal = await requireAdmin(request);
  return jsonResponse(201, await createGroup(parseJSONBody(request), actorOf(principal)));
}

async function getGroupRoute(request: HTTPRequest, params: Record<string, string>): Promise<HTTPResponse> {
  await requireAdmin(request);
  return jsonResponse(200, await requireGroup(params.id!));
}

async function updateGroupRoute(request: HTTPRequest, params: Record<string, string>): Promise<HTTPResponse> {
  const principal = await requireAdmin(request);
  return jsonResponse(200, await updateGroup(params.id!, parseJSONBody(request), actorOf(principal)));
}

async function deleteGroupRoute(request: HTTPRequest, params: Record<string, string>): Promise<HTTPResponse> {
  const principal = await requireAdmin(request);
  await deleteGroup(params.id!, actorOf(principal));
  return emptyResponse(204);
}

async function listMembersRoute(request: HTTPRequest, params: Record<string, string>): Promise<HTTPResponse> {
  await requireAdmin(request);
  const { limit, cursor } = pageParams(request);
  return jsonResponse(200, await listMembers(params.id!, limit, cursor));
}

async function addMemberRoute(request: HTTPRequest, params: Record<string, string>): Promise<HTTPResponse> {
  const principal = await requireAdmin(request);
  return jsonResponse(200, await addMemberByAdmin(params.id!, params.login!, actorOf(principal)));
}

async function removeMemberRoute(request: HTTPRequest, params: Record<string, string>): Promise<HTTPResponse> {
  const principal = await requireAdmin(request);
  await removeMemberByAdmin(params.id!, params.login!, actorOf(principal));
  return emptyResponse(204);
}

async function createTokenRoute(request: HTTPRequest): Promise<HTTPResponse> {
  const principal = await requireAdmin(request);
  return jsonResponse(201, await createAPIToken(principal.user, parseJSONBody(request), actorOf(principal)));
}

async function listTokensRoute(request: HTTPRequest): Promise<HTTPResponse> {
  const principal = await requireAdmin(request);
  return jsonResponse(200, { items: await listAPITokens(principal.user.id) });
}

async function revokeTokenRoute(request: HTTPRequest, params: Record<string, string>): Promise<HTTPResponse> {
  const principal = await requireAdmin(request);
  await revokeAPIToken(principal.user, params.id!, actorOf(principal));
  return emptyResponse(204);
}

async function listAuditRoute(request: HTTPRequest): Promise<HTTPResponse> {
  await requireAdmin(request);
  const { limit, cursor } = pageParams(request);
  const type = (request.query.get("type") ?? "").slice(0, 64);
  const login = (request.query.get("login") ?? "").slice(0, 255);
  return jsonResponse(200, await listAuditEvents({ limit, cursor, type, login }));
}

export const routes: Route[] = [
  { method: "GET", path: "/api/users", kind: "api", handle: listUsersRoute },
  { method: "POST", path: "/api/users", kind: "api", handle: createUserRoute },
  { method: "GET", path: "/api/users/{login}", kind: "api", handle: getUserRoute },
  { method: "PATCH", path: "/api/users/{login}", kind: "api", handle: updateUserRoute },
  { method: "GET", path: "/api/groups", kind: "api", handle: listGroupsRoute },
  { method: "POST", path: "/api/groups", kind: "api", handle: createGroupRoute },
  { method: "GET", path: "/api/groups/{id}", kind: "api", handle: getGroupRoute },
  { method: "PATCH", path: "/api/groups/{id}", kind: "api", handle: updateGroupRoute },
  { method: "DELETE", path: "/api/groups/{id}", kind: "api", handle: deleteGroupRoute },
  { method: "GET", path: "/api/groups/{id}/members", kind: "api", handle: listMembersRoute },
  { method: "PUT", path: "/api/groups/{id}/members/{login}", kind: "api", handle: addMemberRoute },
  { method: "DELETE", path: "/api/groups/{id}/members/{login}", kind: "api", handle: removeMemberRoute },
  { method: "GET", path: "/api/tokens", kind: "api", handle: listTokensRoute },
  { method: "POST", path: "/api/tokens", kind: "api", handle: createTokenRoute },
  { method: "DELETE", path: "/api/tokens/{id}", kind: "api", handle: revokeTokenRoute },
  { method: "GET", path: "/api/audit", kind: "api", handle: listAuditRoute },
];

export const handler = createHandler(routes);
