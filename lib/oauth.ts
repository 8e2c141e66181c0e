// The one module that knows the OAuth library (arctic): authorization URL and code exchange.
import {
  ArcticFetchError,
  CodeChallengeMethod,
  OAuth2Client,
  OAuth2RequestError,
  UnexpectedErrorResponseBodyError,
  UnexpectedResponseError,
} from "arctic";
import { GitLabUnavailableError, InvalidSignInRequestError } from "./errors.js";

export interface OAuthApplication {
  gitlabURL: string;
  applicationId: string;
  secret: string;
  redirectURI: string;
}

export function createAuthorizationURL(app: OAuthApplication, state: string, codeVerifier: string, scopes: string[]): URL {
  const client = new OAuth2Client(app.applicationId, app.secret, app.redirectURI);
  return client.createAuthorizationURLWithPKCE(`${app.gitlabURL}/oauth/authorize`, state, CodeChallengeMethod.S256, codeVerifier, scopes);
}

/** Exchanges the code for an access token, within a deadline. */
export async function exchangeCode(app: OAuthApplication, code: string, codeVerifier: string, timeoutMs: number): Promise<string> {
  const client = new OAuth2Client(app.applicationId, app.secret, app.redirectURI);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new GitLabUnavailableError("GitLab did not answer the token request in time.")), timeoutMs);
  });
  try {
    const tokens = await Promise.race([client.validateAuthorizationCode(`${app.gitlabURL}/oauth/token`, code, codeVerifier), deadline]);
    const accessToken = tokens.accessToken();
    if (accessToken === "") throw new GitLabUnavailableError("GitLab returned an empty access token.");
    return accessToken;
  } catch (error) {
    throw translateOAuthError(error);
  } finally {
    clearTimeout(timer);
  }
}

function translateOAuthError(error: unknown): Error {
  if (error instanceof GitLabUnavailableError) return error;
  if (error instanceof OAuth2RequestError) {
    // invalid_grant: the code is unknown, used, expired or does not match the verifier.
    if (error.code === "invalid_grant") {
      return new InvalidSignInRequestError("GitLab rejected the sign-in code. It may have expired or been used already.", { cause: error });
    }
    return new GitLabUnavailableError(`GitLab refused the token request (${error.code}). Check the application id and secret.`, { cause: error });
  }
  if (error instanceof ArcticFetchError) return new GitLabUnavailableError("GitLab could not be reached.", { cause: error });
  if (error instanceof UnexpectedResponseError || error instanceof UnexpectedErrorResponseBodyError) {
    return new GitLabUnavailableError(`GitLab answered the token request with status ${error.status}.`, { cause: error });
  }
  // arctic throws plain errors when a 200 body lacks access_token.
  return new GitLabUnavailableError("GitLab's token response could not be used.", { cause: error });
}
