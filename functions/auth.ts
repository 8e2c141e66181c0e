// The browser sign-in flow: login, callback, logout, and who am I.
import { describePrincipal, requireSignedIn, sessionCookieName } from "../lib/auth.js";
import { config } from "../lib/config.js";
import { ForbiddenError } from "../lib/errors.js";
import {
  clearCookie,
  createHandler,
  emptyResponse,
  errorResponse,
  jsonResponse,
  redirectResponse,
  serializeCookie,
} from "../lib/http.js";
import type { HTTPRequest, HTTPResponse, Route } from "../lib/http.js";
import { deleteSession } from "../lib/sessions.js";
import { completeSignIn, startSignIn } from "../lib/signin.js";

const stateCookieName = "gitlab_oauth_state";
const callbackPath = "/auth/gitlab/callback";

async function login(request: HTTPRequest): Promise<HTTPResponse> {
  const start = await startSignIn(request.query.get("return_to"));
  return redirectResponse(start.authorizationURL, [
    serializeCookie(stateCookieName, start.state, { maxAgeSeconds: 600, path: callbackPath }),
  ]);
}

async function callback(request: HTTPRequest): Promise<HTTPResponse> {
  const clearState = clearCookie(stateCookieName, callbackPath);
  try {
    const result = await completeSignIn({
      code: request.query.get("code"),
      state: request.query.get("state"),
      error: request.query.get("error"),
      cookieState: request.cookies.get(stateCookieName) ?? null,
    });
    // A new session id at every sign-in; the previous one (if any) ends.
    const previous = request.cookies.get(sessionCookieName);
    if (previous !== undefined && previous !== "") await deleteSession(previous);
    return redirectResponse(result.returnTo, [
      clearState,
      serializeCookie(sessionCookieName, result.sessionToken, { maxAgeSeconds: config.sessionAbsoluteSeconds }),
    ]);
  } catch (error) {
    return errorResponse(error, "page", [clearState]);
  }
}

async function logout(request: HTTPRequest): Promise<HTTPResponse> {
  const token = request.cookies.get(sessionCookieName);
  if (request.headers.origin !== config.publicURL.origin) {
    throw new ForbiddenError("Sign out from the gitlab-jit pages (the Origin header does not match).");
  }
  if (token !== undefined && token !== "") await deleteSession(token);
  return emptyResponse(204, [clearCookie(sessionCookieName)]);
}

async function me(request: HTTPRequest): Promise<HTTPResponse> {
  const principal = await requireSignedIn(request);
  return jsonResponse(200, describePrincipal(principal));
}

export const routes: Route[] = [
  { method: "GET", path: "/auth/gitlab/login", kind: "page", handle: login },
  { method: "GET", path: callbackPath, kind: "page", handle: callback },
  { method: "POST", path: "/auth/logout", kind: "api", handle: logout },
  { method: "GET", path: "/api/me", kind: "api", handle: me },
];

export const handler = createHandler(routes);
