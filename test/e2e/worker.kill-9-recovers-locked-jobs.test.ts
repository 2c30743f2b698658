import { afterAll, beforeAll, expect, test } from "bun:test";
import { createServer, type Server, type Socket } from "node:net";
import postgres from "postgres";
import { createTestDatabase } from "../support/db";
import { startFakeTwilio } from "../support/fake-twilio";
import { API_KEY, PUBLIC_URL, STRIPE_SECRET, TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN } from "../support/harness";
import { freePort, type Started, startSwitchboard, waitFor } from "../support/process";
import { paymentIntent, signedStripeRequest, stripeEvent } from "../support/stripe";

// A process killed with SIGKILL (an OOM kill, a lost host, Fly's kill_timeout) leaves its jobs locked; graphile-worker
// alone frees them only after 4 hours. Worker heartbeats let the surviving processes free them within minutes.
let database: Awaited<ReturnType<typeof createTestDatabase>>;
let twilio: Awaited<ReturnType<typeof startFakeTwilio>>;
let blackhole: { url: string; close(): void };
const started: Started[] = [];

/** A Twilio API that accepts connections and never answers: a send hangs until the process dies. */
async function startBlackhole() {
  const sockets: Socket[] = [];
  const server: Server = createServer((socket) => { sockets.push(socket); });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, close: () => { for (const s of sockets) s.destroy(); server.close(); } };
}

beforeAll(async () => {
  database = await createTestDatabase();
  twilio = await startFakeTwilio({ accountSid: TWILIO_ACCOUNT_SID, authToken: TWILIO_AUTH_TOKEN });
  blackhole = await startBlackhole();
});
afterAll(async () => {
  for (const s of started) {
    if (s.proc.exitCode === null && !s.proc.killed) s.proc.kill("SIGTERM");
    await s.exited;
  }
  blackhole.close();
  twilio.close();
  await database.drop();
}, 30_000);

async function start(twilioUrl: string): Promise<Started> {
  // A port freePort found can be taken by another server before the child binds it: then try another.
  for (let tries = 0; ; tries++) {
    const s = startSwitchboard({
      DATABASE_URL: database.url, PORT: String(await freePort()), API_KEY, PUBLIC_URL,
      STRIPE_WEBHOOK_SECRET: STRIPE_SECRET,
      TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_API_URL: twilioUrl, TWILIO_TIMEOUT_MS: "120000",
      WORKER_HEARTBEAT_INTERVAL_MS: "500", WORKER_STALE_AFTER_MS: "3000",
    });
    started.push(s);
    const ready = await waitFor(async () => {
      if (s.proc.exitCode !== null) return "exited";
      const res = await fetch(`http://127.0.0.1:${s.port}/readyz`);
      return (await res.json() as { status?: string }).status === "ready" ? "ready" : undefined;
    }, "switchboard ready", 60_000);
    if (ready === "ready") return s;
    if (tries >= 2) throw new Error(`switchboard did not start: ${s.output()}`);
  }
}

async function api(s: Started, path: string, body: unknown) {
  const res = await fetch(`http://127.0.0.1:${s.port}${path}`, {
    method: "POST", headers: { authorization: `Bearer ${API_KEY}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (res.status !== 201) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return res.json() as Promise<{ id: string }>;
}

/** The clinic's outbound SMS rows, read straight from the database. */
async function smsRows(clinicId: string) {
  const sql = postgres(database.url, { max: 1, onnotice: () => {} });
  try {
    return await sql`select id, status from sms_messages where clinic_id = ${clinicId} order by created_at`;
  } finally {
    await sql.end();
  }
}

async function pay(s: Started, patientId: string) {
  const appointment = await api(s, "/v1/appointments", {
    patient_id: patientId, starts_at: new Date(Date.now() + 3 * 86_400_000).toISOString(), deposit_amount: 6000,
    currency: "usd",
  });
  const event = stripeEvent("payment_intent.succeeded", paymentIntent(appointment.id));
  const res = await fetch(
    `http://127.0.0.1:${s.port}/api/v1/webhooks/stripe/payment-events`, await signedStripeRequest(event),
  );
  expect(res.status).toBe(200);
}

test("after kill -9 of a worker mid-send, "
  + "another process frees its jobs and every SMS of the clinic goes out", async () => {
  const first = await start(blackhole.url);
  const clinic = await api(first, "/v1/clinics", { name: "Killed Clinic", phone: "+15550109999", timezone: "UTC" });
  const ada = await api(first, "/v1/patients", { clinic_id: clinic.id, name: "Ada", phone: "+15557770001" });
  const bo = await api(first, "/v1/patients", { clinic_id: clinic.id, name: "Bo", phone: "+15557770002" });
  await pay(first, ada.id);
  // The confirmation's send is in flight to a Twilio that never answers.
  await waitFor(
    async () => (await smsRows(clinic.id)).some((r) => r.status === "unknown"), "the first SMS in flight", 30_000,
  );
  first.proc.kill("SIGKILL");
  await first.exited;

  const second = await start(twilio.url);
  await pay(second, bo.id);
  await waitFor(() => twilio.messages.some((m) => m.to === "+15557770002"), "the second patient's SMS sent", 60_000);
  await waitFor(() => twilio.messages.some((m) => m.to === "+15557770001"), "the killed send retried", 60_000);
  const rows = await smsRows(clinic.id);
  expect(rows).toHaveLength(2);
  // Once each: the retried send looked the first one up before sending (the blackhole never created it).
  expect(twilio.messages.filter((m) => m.to === "+15557770001")).toHaveLength(1);
  expect(twilio.messages.filter((m) => m.to === "+15557770002")).toHaveLength(1);
}, 180_000);
