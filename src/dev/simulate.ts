// `npm run simulate -- stripe|sms|status|replay …`: a provider's webhook, shaped and signed as the provider does it,
// sent to a Switchboard (the local one by default, or --url), then followed until processed with what it caused.
import { type Command, InvalidArgumentError, Option } from "commander";
import {
  apiClient, ensureRunning, program, resolveTarget, runProgram, send, type Target, targetOptions, type TargetFlags,
} from "./cli";
import { follow } from "./follow";
import {
  type Prepared, prepareReplay, prepareSms, prepareStatus, prepareStripe, type ReplayFlags, type SmsFlags,
  type StatusFlags, type StripeFlags, TWILIO_STATUSES,
} from "./simulate-requests";

interface RunFlags extends TargetFlags { repeat: number; concurrency: number; wait: boolean; timeout: number }

const count = (name: string, max: number) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max) {
    throw new InvalidArgumentError(`${name} must be a whole number from 1 to ${max}.`);
  }
  return n;
};

/** The options every kind of simulation takes. */
function runOptions(cmd: Command): Command {
  return targetOptions(cmd)
    .addOption(new Option("--repeat <n>", "send the same request n times, as a provider retries (one effect)")
      .argParser(count("--repeat", 1000)).default(1))
    .addOption(new Option("--concurrency <c>", "how many of the repeats are in flight at once")
      .argParser(count("--concurrency", 100)).default(1))
    .option("--no-wait", "print the answer and stop, without following the event")
    .addOption(new Option("--timeout <seconds>", "how long to follow the event and its effects")
      .argParser(count("--timeout", 3600)).default(30));
}

interface Answer { status: number; body: string; ms: number }

async function sendRepeated(target: Target, p: Prepared, repeat: number, concurrency: number): Promise<Answer[]> {
  const answers: Answer[] = [];
  let started = 0;
  const lane = async () => {
    while (started < repeat) {
      started++;
      const t0 = performance.now();
      const res = await send(`${target.url}${p.path}`, { method: "POST", headers: p.headers, body: p.body });
      answers.push({ status: res.status, body: await res.text(), ms: Math.round(performance.now() - t0) });
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, repeat) }, lane));
  return answers;
}

async function simulate(flags: RunFlags, prepare: (target: Target) => Promise<Prepared>): Promise<void> {
  const target = resolveTarget(flags);
  await ensureRunning(target);
  const prepared = await prepare(target);
  const out = (line: string) => process.stdout.write(`${line}\n`);
  const times = flags.repeat > 1 ? `  ×${flags.repeat} (${flags.concurrency} at once)` : "";
  out(`→ POST ${target.url}${prepared.path}  ${prepared.describe}${times}`);
  const answers = await sendRepeated(target, prepared, flags.repeat, flags.concurrency);
  const groups = new Map<string, Answer[]>();
  for (const a of answers) groups.set(`${a.status} ${a.body}`, [...(groups.get(`${a.status} ${a.body}`) ?? []), a]);
  for (const [answer, same] of groups) {
    const ms = same.map((a) => a.ms).sort((x, y) => x - y);
    const spread = `${ms[0]}${ms.length > 1 ? `–${ms.at(-1)}` : ""} ms`;
    out(`← ${answer.replace(/\s*\n\s*/g, " ")}${same.length > 1 ? `  ×${same.length}` : ""}  (${spread})`);
  }
  const refused = answers.some((a) => a.status >= 300);
  if (refused) process.exitCode = 1;
  if (!flags.wait || answers.every((a) => a.status >= 300)) return;
  const followed = await follow(apiClient(target), prepared.scope, flags.timeout * 1000);
  for (const line of followed.lines) out(line);
  if (!["processed", "ignored"].includes(followed.status)) process.exitCode = 1;
}

const cmd = program("simulate", "Send a provider's webhook to Switchboard, signed as the provider signs it, "
  + "and show what it caused.")
  .addHelpText("after", `
Secrets come from the environment npm start reads (STRIPE_WEBHOOK_SECRET, TWILIO_AUTH_TOKEN, API_KEY, PUBLIC_URL),
else from the \`npm run dev\` running beside you (it keeps them in $DATA_DIR/dev-session.json). Exit code 2 on bad
input or an unreachable service, 1 when the service refused the webhook or could not process it.`);

runOptions(cmd.command("stripe <event-type>")
  .description("a Stripe event (any type the stripe SDK knows) about an appointment's deposit")
  .option("--appointment <id>", "the appointment (metadata.booking_id); required for payment_intent.* and charge.*")
  .addOption(new Option("--amount <cents>", "minor units (default: the deposit); charge.refunded: total refunded")
    .argParser(count("--amount", 100_000_000)))
  .option("--currency <code>", "three-letter currency (default: the appointment's)")
  .option("--event-id <id>", "the event id (default: a new evt_…); the same id twice is a retry"))
  .addHelpText("after", "\nExample: npm run simulate -- stripe payment_intent.payment_failed --appointment <id>")
  .action((type: string, flags: RunFlags & StripeFlags) => simulate(flags, (t) => prepareStripe(t, type, flags)));

runOptions(cmd.command("sms")
  .description("an SMS a patient sends to the clinic's Twilio number, with every parameter Twilio posts")
  .requiredOption("--from <phone>", "the patient's number, E.164 (e.g. +15550101111)")
  .option("--to <phone>", "the clinic's number (default: the patient's clinic, else the demo clinic)")
  .option("--body <text>", "the message, e.g. CONFIRM, CANCEL, RESCHEDULE, HELP, STOP, START")
  .option("--media <url...>", "media URLs (an MMS), one or more")
  .option("--whatsapp", "send it as a WhatsApp message (whatsapp: addresses)"))
  .addHelpText("after", "\nExample: npm run simulate -- sms --from +15550101111 --body CONFIRM")
  .action((flags: RunFlags & SmsFlags) => simulate(flags, (t) => prepareSms(t, flags)));

runOptions(cmd.command("status <status>")
  .description(`Twilio's status callback for an SMS the service sent (${TWILIO_STATUSES.join(", ")})`)
  .requiredOption("--sid <sid>", "the SMS's MessageSid (SM…), as printed by simulate or GET /v1/sms")
  .option("--error-code <code>", "Twilio's ErrorCode (default for undelivered 30003, for failed 30008)"))
  .addHelpText("after", "\nExample: npm run simulate -- status undelivered --sid SM0123… --error-code 30003")
  .action((status: string, flags: RunFlags & StatusFlags) => simulate(flags, (t) => prepareStatus(t, status, flags)));

runOptions(cmd.command("replay")
  .description("a webhook another Switchboard stored (e.g. production), byte for byte, re-signed with this one's")
  .requiredOption("--event <id>", "the webhook event id there (GET /v1/webhook-events)")
  .requiredOption("--from <url>", "that Switchboard's base URL (may carry the key: https://:KEY@host)")
  .addOption(new Option("--from-api-key <key>", "that Switchboard's API key").env("FROM_API_KEY")))
  .addHelpText("after", "\nExample: npm run simulate -- replay --event 4211 --from https://switchboard.example.com "
    + "--from-api-key …")
  .action((flags: RunFlags & ReplayFlags) => simulate(flags, (t) => prepareReplay(t, flags)));

await runProgram(cmd);
