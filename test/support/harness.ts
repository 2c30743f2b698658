import { EventEmitter } from "node:events";
import { runOnce } from "graphile-worker";
import { type Config, loadConfig } from "../../src/config";
import { quietLogger } from "../../src/db";
import { buildDeps, closeDeps, type Clock, type Deps } from "../../src/deps";
import { createApp } from "../../src/http/app";
import { taskList } from "../../src/jobs";
import { createLogger } from "../../src/log";
import { createTestDatabase } from "./db";
import { startSmtpSink } from "./smtp-sink";

export const API_KEY = "test-api-key-0123456789";
export const STRIPE_SECRET = "whsec_test_secret_current";
export const TWILIO_AUTH_TOKEN = "test_twilio_auth_token_123";
export const TWILIO_ACCOUNT_SID = `AC${"0".repeat(32)}`;
export const PUBLIC_URL = "https://switchboard.example.test";
export const METRICS_TOKEN = "test-metrics-token-0123456789";

/** A clock tests can move; jobs and handlers read time only through it. */
export function testClock(start = new Date()): Clock & { advance(ms: number): void; set(at: Date): void } {
  let now = start.getTime();
  return { now: () => new Date(now), advance: (ms) => { now += ms; }, set: (at) => { now = at.getTime(); } };
}

export interface Harness {
  deps: Deps;
  config: Config;
  app: ReturnType<typeof createApp>;
  logs: string[];
  /** Sends a request through the whole Elysia app. */
  request(path: string, init?: RequestInit): Promise<Response>;
  api(method: string, path: string, body?: unknown): Promise<Response>;
  /** Runs every job that is due now until nothing is ready (graphile-worker runOnce, repeated). */
  drain(): Promise<void>;
  /** Makes a task's jobs that wait for a retry due now (graphile-worker backs off for seconds to hours). */
  retryNow(task: string): Promise<number>;
  close(): Promise<void>;
}

export async function createHarness(
  env: Record<string, string> = {},
  overrides: Partial<Deps> = {},
  /** Lets a test put something (a TCP proxy) between the app and its database. */
  connectVia: (url: string) => string = (url) => url,
): Promise<Harness> {
  const database = await createTestDatabase();
  const config = loadConfig({
    NODE_ENV: "test",
    LOG_LEVEL: "debug",
    API_KEY,
    PUBLIC_URL,
    STRIPE_WEBHOOK_SECRET: STRIPE_SECRET,
    TWILIO_ACCOUNT_SID,
    TWILIO_AUTH_TOKEN,
    SUPPORT_EMAIL: "support@switchboard.test",
    METRICS_TOKEN,
    // Tests usually replace deps.sleep with a no-op, so pacing waits never pass: sleep (skip) them all, never requeue.
    SMS_PACING_MAX_SLEEP_MS: "600000",
    ...env,
  });
  const logs: string[] = [];
  const log = createLogger("debug", {}, (line) => logs.push(line));
  const deps = buildDeps(config, connectVia(database.url), { log, ...overrides });
  const app = createApp(deps);
  const request = (path: string, init?: RequestInit) => app.handle(new Request(`http://localhost${path}`, init));
  return {
    deps, config, app, logs, request,
    api: (method, path, body) => request(path, {
      method,
      headers: {
        authorization: `Bearer ${API_KEY}`, ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    }),
    async drain() {
      const tasks = taskList(deps);
      // runOnce stops when a job's named queue (e.g. `sms:<from>`) is still locked by the job that just finished,
      // so run it again while due jobs remain (bounded).
      for (let round = 0; round < 20; round++) {
        const events = new EventEmitter();
        const ran: string[] = [];
        events.on("job:complete", ({ job }: { job: { id: string } }) => ran.push(job.id));
        await runOnce({ connectionString: database.url, taskList: tasks, logger: quietLogger, events });
        // runOnce can return before graphile-worker has recorded a job's outcome (it awaits neither completeJob nor
        // failJob): wait for that, or a check or a retryNow right after would find the job still locked.
        for (let wait = 0; wait < 200 && ran.length > 0; wait++) {
          const [locked] = await deps.sql`select count(*)::int as n from graphile_worker.jobs
            where id = any(${ran}::bigint[]) and locked_at is not null`;
          if (locked!.n === 0) break;
          await Bun.sleep(10);
        }
        const [due] = await deps.sql`select count(*)::int as n from graphile_worker.jobs
          where task_identifier = any(${Object.keys(tasks)}) and run_at <= now() and locked_at is null
            and attempts < max_attempts`;
        if (due!.n === 0) return;
      }
    },
    async retryNow(task) {
      const rows = await deps.sql`select graphile_worker.reschedule_jobs(
        array(select id from graphile_worker.jobs where task_identifier = ${task} and attempts > 0
          and locked_at is null), run_at := now())`;
      return rows.length;
    },
    async close() {
      await closeDeps(deps);
      await database.drop();
    },
  };
}

/** A clinic, one patient and one appointment through the management API. */
export async function seedAppointment(
  h: Harness, opts: { email?: string | null; phone?: string; startsAt?: Date } = {},
) {
  const json = async (res: Response) => {
    if (res.status >= 300) throw new Error(`seed failed: ${res.status} ${await res.text()}`);
    return res.json() as Promise<any>;
  };
  const clinic = await json(await h.api("POST", "/v1/clinics", {
    name: "Harbor Dental", phone: `+1555${String(Math.floor(Math.random() * 1e7)).padStart(7, "0")}`,
    timezone: "America/New_York", email: "desk@harbor.test",
  }));
  const patient = await json(await h.api("POST", "/v1/patients", {
    clinic_id: clinic.id, name: "Ada Patient", phone: opts.phone ?? "+15557654321",
    ...(opts.email === null ? {} : { email: opts.email ?? "ada@patient.test" }),
  }));
  const appointment = await json(await h.api("POST", "/v1/appointments", {
    patient_id: patient.id,
    starts_at: (opts.startsAt ?? new Date(Date.now() + 3 * 86_400_000)).toISOString(),
    deposit_amount: 6000, currency: "usd",
  }));
  return { clinic, patient, appointment };
}

export type MailHarness = Harness & { smtp: Awaited<ReturnType<typeof startSmtpSink>> };

/** A harness whose emails really go out over SMTP to a sink on loopback (`h.smtp`); close() stops both. */
export async function createMailHarness(
  env: Record<string, string> = {}, overrides: Partial<Deps> = {},
): Promise<MailHarness> {
  const smtp = await startSmtpSink();
  const h = await createHarness({ SMTP_URL: smtp.url, ...env }, overrides);
  return {
    ...h,
    smtp,
    async close() {
      await h.close();
      await smtp.close();
    },
  };
}
