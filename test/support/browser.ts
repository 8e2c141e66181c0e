// A minimal browser: a cookie jar per origin path, manual redirects, and the GitLab sign-in dance.

export interface SignInOutcome {
  /** The callback's response: 302 on success, an HTML page otherwise. */
  response: Response;
  body: string;
}

interface StoredCookie {
  value: string;
  path: string;
}

export class Browser {
  readonly cookies = new Map<string, StoredCookie>();

  constructor(readonly baseURL: string) {}

  /** Cookies the server would receive for this path. */
  cookieHeader(path: string): string {
    return [...this.cookies.entries()]
      .filter(([, cookie]) => path.startsWith(cookie.path))
      .map(([name, cookie]) => `${name}=${cookie.value}`)
      .join("; ");
  }

  storeCookies(response: Response): void {
    for (const header of response.headers.getSetCookie()) {
      const [pair, ...attributes] = header.split(";").map((part) => part.trim());
      const index = pair!.indexOf("=");
      const name = pair!.slice(0, index);
      const value = pair!.slice(index + 1);
      const path = attributes.find((attribute) => attribute.toLowerCase().startsWith("path="))?.slice(5) ?? "/";
      const maxAge = attributes.find((attribute) => attribute.toLowerCase().startsWith("max-age="));
      if (maxAge === "Max-Age=0" || value === "") this.cookies.delete(name);
      else this.cookies.set(name, { value, path });
    }
  }

  async fetch(path: string, init: RequestInit & { origin?: string | null } = {}): Promise<Response> {
    const url = new URL(path, this.baseURL);
    const headers = new Headers(init.headers);
    const cookie = this.cookieHeader(url.pathname);
    if (cookie !== "") headers.set("cookie", cookie);
    const method = (init.method ?? "GET").toUpperCase();
    // Browsers send Origin on state-changing requests.
    if (init.origin !== null && method !== "GET" && method !== "HEAD") headers.set("origin", init.origin ?? new URL(this.baseURL).origin);
    const response = await fetch(url, { ...init, headers, redirect: "manual" });
    this.storeCookies(response);
    return response;
  }

  async json(path: string, init: RequestInit & { origin?: string | null } = {}): Promise<{ status: number; body: any; response: Response }> {
    const headers = new Headers(init.headers);
    if (init.body !== undefined) headers.set("content-type", "application/json");
    const response = await this.fetch(path, { ...init, headers });
    const text = await response.text();
    return { status: response.status, body: text === "" ? null : JSON.parse(text), response };
  }

  /** Starts the sign-in and returns the GitLab authorize URL the service redirected to. */
  async startSignIn(returnTo?: string): Promise<URL> {
    const query = returnTo === undefined ? "" : `?return_to=${encodeURIComponent(returnTo)}`;
    const response = await this.fetch(`/auth/gitlab/login${query}`);
    if (response.status !== 302) throw new Error(`login answered ${response.status}: ${await response.text()}`);
    return new URL(response.headers.get("location")!);
  }

  /** Approves at the GitLab emulator as `login` and returns the callback URL GitLab redirects to. */
  async approveAtGitLab(authorizeURL: URL, login: string): Promise<URL> {
    const approve = new URL(authorizeURL);
    approve.searchParams.set("login", login);
    const response = await fetch(approve, { redirect: "manual" });
    if (response.status !== 302) throw new Error(`authorize answered ${response.status}: ${await response.text()}`);
    return new URL(response.headers.get("location")!);
  }

  async signIn(login: string, returnTo?: string): Promise<SignInOutcome> {
    const authorizeURL = await this.startSignIn(returnTo);
    const callbackURL = await this.approveAtGitLab(authorizeURL, login);
    const response = await this.fetch(callbackURL.pathname + callbackURL.search);
    return { response, body: await response.text() };
  }

  sessionToken(): string | null {
    return this.cookies.get("session")?.value ?? null;
  }
}
