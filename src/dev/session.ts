// What `npm run dev` decided for its session (given or generated), kept where `seed` and `simulate` find it.
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";

export interface DevSession {
  pid: number;
  /** Where the service listens on this machine. */
  url: string;
  /** What Twilio signatures are computed over, and what status callbacks point at. */
  public_url: string;
  api_key: string;
  stripe_webhook_secret: string;
  twilio_account_sid: string;
  twilio_auth_token: string;
  /** The stand-ins' server: the JSON page at `/`, the fake Twilio API, and the receiver under `/hooks/`. */
  stand_ins_url: string;
  started_at: string;
}

/** The secrets a dev session needs; whatever the environment does not give is generated here. */
export const SECRETS = ["API_KEY", "STRIPE_WEBHOOK_SECRET", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"] as const;
export type Secret = (typeof SECRETS)[number];

const hex = (bytes: number) => randomBytes(bytes).toString("hex");
const GENERATE: Record<Secret, () => string> = {
  API_KEY: () => `dev_${hex(16)}`,
  STRIPE_WEBHOOK_SECRET: () => `whsec_${hex(24)}`,
  TWILIO_ACCOUNT_SID: () => `AC${hex(16)}`,
  TWILIO_AUTH_TOKEN: () => hex(16),
};

/** The environment's secrets, with the missing ones generated; `generated` names those. */
export function sessionSecrets(env: Record<string, string | undefined>) {
  const generated: Secret[] = [];
  const values = {} as Record<Secret, string>;
  for (const key of SECRETS) {
    const given = env[key];
    if (given) values[key] = given;
    else {
      values[key] = GENERATE[key]();
      generated.push(key);
    }
  }
  return { values, generated };
}

export const sessionFile = (dataDir: string) => resolve(dataDir, "dev-session.json");

export function writeSession(dataDir: string, session: DevSession): string {
  mkdirSync(dataDir, { recursive: true });
  const file = sessionFile(dataDir);
  writeFileSync(file, `${JSON.stringify(session, null, 2)}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return file;
}

export function removeSession(dataDir: string, pid: number): void {
  // Only our own: a second dev run beside this one may have written its session since.
  if (readSession(dataDir, { alive: false })?.pid === pid) rmSync(sessionFile(dataDir), { force: true });
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: string }).code === "EPERM";
  }
};

/** The session of a dev run that is still running (a file left by a killed run is ignored). */
export function readSession(dataDir: string, opts: { alive: boolean } = { alive: true }): DevSession | undefined {
  const file = sessionFile(dataDir);
  if (!existsSync(file)) return undefined;
  try {
    const session = JSON.parse(readFileSync(file, "utf8")) as DevSession;
    if (typeof session.url !== "string" || typeof session.pid !== "number") return undefined;
    return !opts.alive || alive(session.pid) ? session : undefined;
  } catch {
    return undefined;
  }
}
