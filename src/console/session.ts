import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { Config } from "../config";

/** How long a console session lasts after sign-in. */
export const SESSION_MS = 8 * 60 * 60 * 1000;
export const SESSION_COOKIE = "sb_console";
/** Holds a random value for the sign-in form's CSRF token until a session replaces it. */
export const SIGN_IN_COOKIE = "sb_console_signin";

export interface Session {
  nonce: string;
  expiresAt: number;
}

export interface ConsoleKeys {
  /** Undefined when neither CONSOLE_PASSWORD nor API_KEY is set: nobody can sign in. */
  credential?: string;
  mac(purpose: string, value: string): string;
  secureCookies: boolean;
}

const b64url = (buf: Buffer) => buf.toString("base64url");
const sameText = (a: string, b: string) => {
  const x = createHash("sha256").update(a).digest();
  const y = createHash("sha256").update(b).digest();
  return timingSafeEqual(x, y);
};

/**
 * Sessions are signed with a key derived from the credential itself, so changing CONSOLE_PASSWORD (or API_KEY)
 * signs everybody out, and every web process agrees without shared state.
 */
export function consoleKeys(config: Pick<Config, "API_KEY" | "CONSOLE_PASSWORD" | "PUBLIC_URL">): ConsoleKeys {
  const credential = config.CONSOLE_PASSWORD ?? config.API_KEY;
  const key = createHash("sha256")
    .update(`switchboard console v1\u0000${credential ?? randomBytes(32).toString("hex")}`)
    .digest();
  return {
    credential,
    mac: (purpose, value) => b64url(createHmac("sha256", key).update(`${purpose}\u0000${value}`).digest()),
    secureCookies: (config.PUBLIC_URL ?? "").startsWith("https://"),
  };
}

export function checkCredential(keys: ConsoleKeys, given: string): boolean {
  return keys.credential !== undefined && sameText(given, keys.credential);
}

/** `expiresAt.nonce.mac` */
export function issueSession(keys: ConsoleKeys, now: number): { value: string; session: Session } {
  const session = { nonce: b64url(randomBytes(18)), expiresAt: now + SESSION_MS };
  const body = `${session.expiresAt}.${session.nonce}`;
  return { value: `${body}.${keys.mac("session", body)}`, session };
}

export function readSession(keys: ConsoleKeys, cookieValue: string | undefined, now: number): Session | undefined {
  const parts = cookieValue?.split(".");
  if (!parts || parts.length !== 3 || keys.credential === undefined) return undefined;
  const [expires, nonce, mac] = parts as [string, string, string];
  if (!sameText(mac, keys.mac("session", `${expires}.${nonce}`))) return undefined;
  const expiresAt = Number(expires);
  return Number.isFinite(expiresAt) && expiresAt > now ? { nonce, expiresAt } : undefined;
}

/** The token every console form carries: bound to the session (or, before sign-in, to the sign-in cookie). */
export const csrfToken = (keys: ConsoleKeys, nonce: string) => keys.mac("csrf", nonce);

export function checkCsrf(keys: ConsoleKeys, nonce: string | undefined, token: unknown): boolean {
  return nonce !== undefined && typeof token === "string" && sameText(token, csrfToken(keys, nonce));
}

export const newNonce = () => b64url(randomBytes(18));

export function readCookie(request: Request, name: string): string | undefined {
  for (const part of (request.headers.get("cookie") ?? "").split(";")) {
    const at = part.indexOf("=");
    if (at > 0 && part.slice(0, at).trim() === name) return decodeURIComponent(part.slice(at + 1).trim());
  }
  return undefined;
}

export function cookie(keys: ConsoleKeys, name: string, value: string, maxAgeSeconds: number): string {
  const secure = keys.secureCookies ? "; Secure" : "";
  return `${name}=${encodeURIComponent(value)}; Path=/console; Max-Age=${maxAgeSeconds}; `
    + `HttpOnly; SameSite=Strict${secure}`;
}
