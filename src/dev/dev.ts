// `npm run dev`: Switchboard as `npm start` runs it, with the outside world on this machine (no account, no internet):
// a fake Twilio API that plays each SMS's delivery, an SMTP sink and a customer's webhook receiver.
import { resolve } from "node:path";
import type { Subprocess } from "bun";
import { fail, program, runProgram } from "./cli";
import { removeSession, SECRETS, sessionFile, sessionSecrets, writeSession } from "./session";
import { startStandIns } from "./stand-ins";

type Env = Record<string, string | undefined>;

const port = (name: string, value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) fail(`${name}=${value} is not a port number; set it to e.g. 3000`);
  return n;
};

async function freePort(): Promise<number> {
  const probe = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const found = probe.port!;
  probe.stop(true);
  return found;
}

async function waitReady(url: string, child: Subprocess, limitMs: number): Promise<boolean> {
  const until = Date.now() + limitMs;
  let exited = false;
  void child.exited.then(() => { exited = true; });
  while (!exited && Date.now() < until) {
    const ready = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2000) }).then((r) => r.ok, () => false);
    if (ready) return true;
    await Bun.sleep(200);
  }
  return false;
}

async function startDev(env: Env): Promise<void> {
  const servicePort = env.PORT ? port("PORT", env.PORT) || await freePort() : 3000;
  const standInsPort = env.DEV_PORT ? port("DEV_PORT", env.DEV_PORT) : servicePort + 1;
  const dataDir = env.DATA_DIR || "./.data";
  const localUrl = `http://127.0.0.1:${servicePort}`;
  const publicUrl = (env.PUBLIC_URL || localUrl).replace(/\/+$/, "");
  const secrets = sessionSecrets(env);

  const standIns = await startStandIns({
    port: standInsPort,
    // The fake signs each callback for the StatusCallback URL (PUBLIC_URL + path) and posts it to this machine.
    twilio: env.TWILIO_API_URL ? null : {
      accountSid: secrets.values.TWILIO_ACCOUNT_SID, authToken: secrets.values.TWILIO_AUTH_TOKEN,
      stepMs: env.DEV_SMS_STEP_MS ? port("DEV_SMS_STEP_MS", env.DEV_SMS_STEP_MS) : 500,
      target: (callback) => (callback.startsWith(publicUrl) ? localUrl + callback.slice(publicUrl.length) : callback),
    },
    smtp: !env.SMTP_URL,
  }).catch((error) => fail(`the stand-ins cannot listen on port ${standInsPort} (${(error as Error).message}): `
    + "set DEV_PORT to a free port"));

  const childEnv: Env = {
    ...env, ...secrets.values, PORT: String(servicePort), PUBLIC_URL: publicUrl, DATA_DIR: dataDir,
    TWILIO_API_URL: env.TWILIO_API_URL ?? standIns.twilioApiUrl, SMTP_URL: env.SMTP_URL ?? standIns.smtpUrl,
    // The receiver is on loopback; customer URLs elsewhere stay checked as in production.
    OUTBOUND_ALLOW_PRIVATE: env.OUTBOUND_ALLOW_PRIVATE ?? "true",
    SUPPORT_EMAIL: env.SUPPORT_EMAIL ?? "support@switchboard.test",
  };
  // A process group of its own: Ctrl-C in the terminal reaches only us, and we stop the service in order (a drain,
  // then its Postgres), instead of Postgres getting the same SIGINT and dropping the connections the drain needs.
  const child = Bun.spawn([process.execPath, resolve(import.meta.dir, "service.ts")], {
    env: childEnv, stdin: "pipe", stdout: "inherit", stderr: "inherit", detached: true,
  });

  let stopping: Promise<never> | undefined;
  const stop = (code?: number) => stopping ??= (async () => {
    if (child.exitCode === null) child.kill("SIGTERM");
    const exit = await child.exited;
    await standIns.stop();
    removeSession(dataDir, process.pid);
    process.exit(code ?? exit);
  })();
  process.on("SIGINT", () => void stop());
  process.on("SIGTERM", () => void stop());
  void child.exited.then(() => stop());

  if (!(await waitReady(localUrl, child, 180_000))) {
    process.stderr.write(child.exitCode === null
      ? `error: Switchboard did not become ready at ${localUrl} within 3 minutes\n`
      : "error: Switchboard stopped while starting (its log is above)\n");
    await stop(1);
  }

  const file = writeSession(dataDir, {
    pid: process.pid, url: localUrl, public_url: publicUrl, api_key: secrets.values.API_KEY,
    stripe_webhook_secret: secrets.values.STRIPE_WEBHOOK_SECRET, twilio_account_sid: secrets.values.TWILIO_ACCOUNT_SID,
    twilio_auth_token: secrets.values.TWILIO_AUTH_TOKEN, stand_ins_url: standIns.url,
    started_at: new Date().toISOString(),
  });
  const lines = [
    "",
    "Switchboard is running for local development.",
    `  service      ${localUrl}   (API reference: ${localUrl}/docs)`,
    ...(publicUrl === localUrl ? [] : [`  PUBLIC_URL   ${publicUrl}   (what Twilio signatures and callbacks use)`]),
    `  stand-ins    ${standIns.url}/   <- the SMS, emails and webhooks they received, as JSON`,
    `    Twilio API ${childEnv.TWILIO_API_URL}${standIns.twilioApiUrl
      ? "   (each SMS: queued, sent, delivered; to a number ending 0000: undelivered 30003)" : "   (yours)"}`,
    `    SMTP       ${childEnv.SMTP_URL}${standIns.smtpUrl ? "   (keeps every email)" : "   (yours)"}`,
    `    receiver   ${standIns.receiverUrl}/<anything>   (a customer's callback URL)`,
    "",
    secrets.generated.length > 0
      ? "Generated for this session (set them in the environment to choose your own):"
      : "Secrets: all from your environment.",
    ...secrets.generated.map((key) => `  ${key}=${secrets.values[key]}`),
    ...SECRETS.filter((key) => !secrets.generated.includes(key)).map((key) => `  ${key}: from your environment`),
    `Saved in ${file}, where \`npm run seed\` and \`npm run simulate\` find them.`,
    "",
    "Next, in another terminal:  npm run seed",
    "",
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
}

const cmd = program("dev", "Run Switchboard with local stand-ins for Twilio's API, an SMTP server and a customer's "
  + "webhook receiver.")
  .addHelpText("after", `
Environment: the same as \`npm start\` (PORT, DATA_DIR, DATABASE_URL, EMBEDDED_PG_PORT, API_KEY, PUBLIC_URL,
STRIPE_WEBHOOK_SECRET, TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, SUPPORT_EMAIL, LOG_LEVEL, ...). What is not given is
generated (secrets) or defaulted (PUBLIC_URL=http://127.0.0.1:$PORT) and printed. And:
  DEV_PORT          the stand-ins' port (default $PORT + 1): fake Twilio API, receiver under /hooks/, JSON page at /
  DEV_SMS_STEP_MS   time between one SMS's status callbacks (default 500)
  TWILIO_API_URL, SMTP_URL   when given, used instead of the fake Twilio API / the SMTP sink

Ctrl-C stops the service and the stand-ins together. The session's values are written to
$DATA_DIR/${sessionFile("").split("/").at(-1)} (removed on exit) for \`npm run seed\` and \`npm run simulate\`.`)
  .action(() => startDev(process.env));

await runProgram(cmd);
