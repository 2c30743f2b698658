// One scenario's world on loopback: a database (behind a TCP proxy), fake Twilio and SMTP (each behind a proxy,
// so they can go down), a customer receiver, and Switchboard processes spawned as `npm start` runs them.
import postgres from "postgres";
import { type FakeTwilio, startFakeTwilio } from "../../test/support/fake-twilio";
import { API_KEY, PUBLIC_URL, STRIPE_SECRET, TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN } from "../../test/support/harness";
import { freePort, type Started, startSwitchboard } from "../../test/support/process";
import { startReceiver } from "../../test/support/receiver";
import { startSmtpSink } from "../../test/support/smtp-sink";
import { startTcpProxy } from "../../test/support/tcp-proxy";

export interface Database {
  url: string;
  drop(): Promise<void>;
}
type Proxy = Awaited<ReturnType<typeof startTcpProxy>>;

export interface Proc {
  role: "web" | "worker";
  port: number;
  started: Started;
}

/** Everything a scenario touches; `close()` stops it all and drops the database. */
export interface World {
  sql: postgres.Sql;
  pgProxy: Proxy;
  twilio: FakeTwilio;
  twilioProxy: Proxy;
  smtp: Awaited<ReturnType<typeof startSmtpSink>>;
  smtpProxy: Proxy;
  receiver: ReturnType<typeof startReceiver>;
  procs: Proc[];
  webs(): Proc[];
  /** Spawns a process and waits until it serves (web) or started its worker. */
  spawn(role: "web" | "worker", port?: number): Promise<Proc>;
  /** SIGKILL, then the same role again on the same port (as Fly restarts a machine). */
  kill9AndRestart(proc: Proc): Promise<{ killedAt: number; upAt: number }>;
  /** Lines of every process's output matching `pattern`, with the time they were read. */
  linesMatching(pattern: RegExp): { at: number; line: string }[];
  close(): Promise<void>;
}

const hostPort = (url: string) => {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port) };
};

export async function startWorld(database: Database, env: Record<string, string> = {}): Promise<World> {
  const pgProxy = await startTcpProxy(hostPort(database.url));
  const proxied = new URL(database.url);
  proxied.hostname = "127.0.0.1";
  proxied.port = String(pgProxy.port);
  const twilio = await startFakeTwilio({ accountSid: TWILIO_ACCOUNT_SID, authToken: TWILIO_AUTH_TOKEN });
  const twilioProxy = await startTcpProxy(hostPort(twilio.url));
  const smtp = await startSmtpSink();
  const smtpProxy = await startTcpProxy({
    host: "127.0.0.1",
    port: Number(new URL(smtp.url.replace("smtp:", "http:")).port),
  });
  const receiver = startReceiver();
  const sql = postgres(database.url, { max: 4, onnotice: () => {} });
  const procs: Proc[] = [];
  const lines: { at: number; line: string }[] = [];
  const watched: RegExp[] = [];

  const baseEnv = {
    DATABASE_URL: proxied.toString(),
    API_KEY,
    PUBLIC_URL,
    STRIPE_WEBHOOK_SECRET: STRIPE_SECRET,
    TWILIO_ACCOUNT_SID,
    TWILIO_AUTH_TOKEN,
    TWILIO_API_URL: `http://127.0.0.1:${twilioProxy.port}`,
    TWILIO_TIMEOUT_MS: "5000",
    SMTP_URL: `smtp://127.0.0.1:${smtpProxy.port}`,
    SUPPORT_EMAIL: "support@chaos.test",
    OUTBOUND_ALLOW_PRIVATE: "true",
    API_RATE_LIMIT: "1000000",
    WORKER_HEARTBEAT_INTERVAL_MS: "1000",
    WORKER_STALE_AFTER_MS: "5000",
    WORKER_STALL_AFTER_MS: "10000",
    // The per-endpoint start limit would make the customer backlog, not the fault, set how long a run drains;
    // the 2 web + 2 worker scenario sets its own limits to check them.
    OUTBOUND_MAX_PER_WINDOW: "100000",
    INGEST_WRITE_TIMEOUT_MS: "3000",
    OUTBOUND_TIMEOUT_MS: "3000",
    OUTBOUND_RETRY_DELAYS_MS: "1000,2000,3000",
    SWEEP_INTERVAL_MINUTES: "1",
    LOG_LEVEL: "info",
    WORKER_CONCURRENCY: "8",
    OUTBOUND_CONCURRENCY: "16",
    ...env,
  };

  const spawn = async (role: "web" | "worker", port?: number): Promise<Proc> => {
    const p = port ?? (await freePort());
    let ready = false;
    const started = startSwitchboard({ ...baseEnv, ROLE: role, PORT: String(p) }, (line) => {
      if (line.includes("switchboard started")) ready = true;
      if (watched.some((w) => w.test(line))) lines.push({ at: Date.now(), line });
    });
    const until = Date.now() + 60_000;
    for (;;) {
      if (started.proc.exitCode !== null) throw new Error(`${role} exited at start:\n${started.output()}`);
      if (
        ready &&
        (role === "worker" ||
          (await fetch(`http://127.0.0.1:${p}/readyz`).then(
            (r) => r.ok,
            () => false,
          )))
      )
        break;
      if (Date.now() > until) throw new Error(`${role} did not start:\n${started.output()}`);
      await Bun.sleep(100);
    }
    const proc = { role, port: p, started };
    procs.push(proc);
    return proc;
  };

  return {
    sql,
    pgProxy,
    twilio,
    twilioProxy,
    smtp,
    smtpProxy,
    receiver,
    procs,
    spawn,
    webs: () => procs.filter((p) => p.role === "web" && p.started.proc.exitCode === null),
    async kill9AndRestart(proc) {
      const killedAt = Date.now();
      proc.started.proc.kill("SIGKILL");
      await proc.started.exited;
      procs.splice(procs.indexOf(proc), 1);
      await spawn(proc.role, proc.port);
      return { killedAt, upAt: Date.now() };
    },
    linesMatching(pattern) {
      watched.push(pattern);
      return lines;
    },
    async close() {
      await Promise.all(
        procs.map(async (p) => {
          if (p.started.proc.exitCode === null) p.started.proc.kill("SIGTERM");
          const code = await Promise.race([p.started.exited, Bun.sleep(20_000).then(() => "timeout")]);
          if (code === "timeout") p.started.proc.kill("SIGKILL");
        }),
      );
      await sql.end({ timeout: 5 });
      await receiver.close();
      await smtp.close();
      twilio.close();
      for (const proxy of [pgProxy, twilioProxy, smtpProxy]) await proxy.close();
      await database.drop();
    },
  };
}

export interface Seeded {
  clinics: { id: string; phone: string }[];
  patients: { id: string; phone: string; email: string; clinicId: string; clinicPhone: string }[];
  /** Pending appointments with a deposit, one per patient: what payment events are about. */
  appointments: { id: string; patientId: string }[];
  /** Confirmed appointments within REMINDER_HOURS: each must get exactly one reminder. */
  remindable: string[];
}

/** Clinics (with a callback URL at the receiver), patients, appointments, through the management API. */
export async function seed(world: World, opts: { clinics: number; patientsPerClinic: number; remindable: number }) {
  const web = world.webs()[0]!;
  const api = async (method: string, path: string, body: unknown) => {
    const res = await fetch(`http://127.0.0.1:${web.port}${path}`, {
      method,
      headers: { authorization: `Bearer ${API_KEY}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    return res.json() as Promise<{ id: string }>;
  };
  const out: Seeded = { clinics: [], patients: [], appointments: [], remindable: [] };
  // E.164: +1 and ten digits; the run's digits keep numbers apart between scenarios.
  const run = Date.now().toString().slice(-3);
  for (let c = 0; c < opts.clinics; c++) {
    const phone = `+1555${run}00${String(c).padStart(2, "0")}`;
    const clinic = await api("POST", "/v1/clinics", {
      name: `Chaos Clinic ${c}`,
      phone,
      timezone: "America/New_York",
      email: `clinic${c}@chaos.test`,
      callback_url: `${world.receiver.url}/clinic/${c}`,
    });
    out.clinics.push({ id: clinic.id, phone });
    for (let p = 0; p < opts.patientsPerClinic; p++) {
      const patientPhone = `+1556${run}${String(c).padStart(2, "0")}${String(p).padStart(2, "0")}`;
      const email = `p${c}x${p}@chaos.test`;
      const patient = await api("POST", "/v1/patients", {
        clinic_id: clinic.id,
        name: `Patient ${c}.${p}`,
        phone: patientPhone,
        email,
      });
      out.patients.push({ id: patient.id, phone: patientPhone, email, clinicId: clinic.id, clinicPhone: phone });
      const appointment = await api("POST", "/v1/appointments", {
        patient_id: patient.id,
        starts_at: new Date(Date.now() + 3 * 86_400_000).toISOString(),
        deposit_amount: 5000,
        currency: "usd",
      });
      out.appointments.push({ id: appointment.id, patientId: patient.id });
    }
  }
  for (let i = 0; i < opts.remindable; i++) {
    const patient = out.patients[i % out.patients.length]!;
    const appointment = await api("POST", "/v1/appointments", {
      patient_id: patient.id,
      starts_at: new Date(Date.now() + (2 + i) * 3_600_000).toISOString(),
    });
    await api("PATCH", `/v1/appointments/${appointment.id}`, { status: "confirmed" });
    out.remindable.push(appointment.id);
  }
  return out;
}
