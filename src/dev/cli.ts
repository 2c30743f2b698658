// What `seed` and `simulate` share: finding the service and its secrets, calling its API, and failing in one line.
import { Command, CommanderError, Option } from "commander";
import { type DevSession, readSession } from "./session";

/** Bad input or a service that cannot be reached: one line naming the problem and the fix, exit code 2. */
export class UsageError extends Error {}
export const fail = (message: string): never => {
  throw new UsageError(message);
};

/** A program whose errors end the process with one line on stderr and never a stack trace. */
export function program(name: string, description: string): Command {
  return new Command(name)
    .description(description)
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(`${text.trim()} (see --help)\n`) })
    .configureHelp({ showGlobalOptions: true, sortOptions: false });
}

export async function runProgram(cmd: Command, argv = process.argv): Promise<void> {
  try {
    await cmd.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) process.exit(error.exitCode === 0 ? 0 : 2);
    if (error instanceof UsageError) {
      process.stderr.write(`error: ${error.message}\n`);
      process.exit(2);
    }
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`error: ${message.split("\n")[0]}\n`);
    process.exit(1);
  }
}

/** The options every command that talks to a Switchboard takes. */
export function targetOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option("--url <url>", "the Switchboard to talk to "
      + "(default: the `npm run dev` beside you, else http://127.0.0.1:$PORT)").env("SWITCHBOARD_URL"))
    .addOption(new Option("--api-key <key>", "its management API key (default: $API_KEY, else the dev run's)"))
    .addOption(new Option("--public-url <url>", "the URL Twilio reaches it at, which signatures cover "
      + "(default: $PUBLIC_URL, else --url)"));
}

export interface TargetFlags { url?: string; apiKey?: string; publicUrl?: string }

export interface Target {
  url: string;
  publicUrl: string;
  apiKey?: string;
  stripeSecret?: string;
  twilioAuthToken?: string;
  twilioAccountSid: string;
  /** The dev run serving `url`, when there is one beside us. */
  session?: DevSession;
}

const trim = (url: string) => url.replace(/\/+$/, "");
const sameOrigin = (a: string, b: string) => {
  try {
    const [x, y] = [new URL(a), new URL(b)];
    const local = (h: string) => (h === "localhost" || h === "[::1]" ? "127.0.0.1" : h);
    return x.protocol === y.protocol && local(x.hostname) === local(y.hostname) && x.port === y.port;
  } catch {
    return false;
  }
};

/**
 * Flags first, then the environment `npm start` reads, then the values a dev run beside us generated (kept under
 * DATA_DIR), used only when it serves the URL we talk to: a staging --url never gets local secrets.
 */
export function resolveTarget(flags: TargetFlags, env: Record<string, string | undefined> = process.env): Target {
  const found = readSession(env.DATA_DIR || "./.data");
  const url = trim(flags.url ?? found?.url ?? `http://127.0.0.1:${env.PORT || 3000}`);
  if (!/^https?:\/\/[^\s/]+/.test(url)) fail(`--url ${url} is not an http(s) URL; e.g. --url http://127.0.0.1:3000`);
  const session = found && sameOrigin(url, found.url) ? found : undefined;
  return {
    url,
    publicUrl: trim(flags.publicUrl ?? env.PUBLIC_URL ?? session?.public_url ?? url),
    apiKey: flags.apiKey ?? env.API_KEY ?? session?.api_key,
    stripeSecret: env.STRIPE_WEBHOOK_SECRET ?? session?.stripe_webhook_secret,
    twilioAuthToken: env.TWILIO_AUTH_TOKEN ?? session?.twilio_auth_token,
    twilioAccountSid: env.TWILIO_ACCOUNT_SID ?? session?.twilio_account_sid ?? `AC${"0".repeat(32)}`,
    session,
  };
}

const unreachable = (url: string, error: unknown) => {
  const code = (error as { code?: string })?.code;
  const refused = code === "ConnectionRefused" || code === "ECONNREFUSED";
  const why = refused ? "connection refused" : (error as Error)?.message ?? String(error);
  return `no Switchboard answering at ${url} (${why}): start one with \`npm run dev\`, or point --url at one`;
};

/** Sends a request; a service that is not there is a UsageError naming the fix. */
export async function send(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, { ...init, redirect: "manual", signal: AbortSignal.timeout(30_000) });
  } catch (error) {
    return fail(unreachable(new URL(url).origin, error));
  }
}

/** A target that does not answer is named before anything else is asked of it (or of its secrets). */
export async function ensureRunning(target: Pick<Target, "url">): Promise<void> {
  await send(`${target.url}/healthz`, { method: "GET" });
}

export type Api = ReturnType<typeof apiClient>;

/** The management API of the target (Bearer API_KEY); 401 and an absent key are UsageErrors naming the fix. */
export function apiClient(target: Pick<Target, "url" | "apiKey">, keyFlag = "--api-key or API_KEY") {
  async function call<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    if (!target.apiKey) fail(`no API key for ${target.url}: pass ${keyFlag} (\`npm run dev\` prints the one it made)`);
    const res = await send(`${target.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${target.apiKey}`, ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (res.status === 401) fail(`${target.url} refused the API key: pass the right one with ${keyFlag}`);
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch { /* not JSON: kept as text */ }
    if (res.status >= 500 || res.status === 429) {
      throw new Error(`${method} ${path} answered ${res.status}: ${text.slice(0, 200)}`);
    }
    return { status: res.status, body: parsed as T };
  }
  return {
    call,
    /** GET that must succeed; `what` names the thing in the error when it is 404. */
    async get<T>(path: string, what?: string): Promise<T> {
      const res = await call<T>("GET", path);
      if (res.status === 404 && what) fail(`${what} not found at ${target.url}`);
      if (res.status >= 300) {
        throw new Error(`GET ${path} answered ${res.status}: ${JSON.stringify(res.body).slice(0, 200)}`);
      }
      return res.body;
    },
  };
}

/** A query string of the parameters that are set. */
export const q = (params: Record<string, string | number | undefined>) => new URLSearchParams(
  Object.entries(params).filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)]),
).toString();
