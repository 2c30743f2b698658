import { formatWhen } from "./time";

/** What a patient's SMS asks for (SPEC 3). Everything that is not a keyword is OTHER. */
export type Command = "HELP" | "STOP" | "START" | "CONFIRM" | "CANCEL" | "RESCHEDULE" | "OTHER";

const KEYWORDS: Record<string, Command> = {
  HELP: "HELP", INFO: "HELP",
  STOP: "STOP", STOPALL: "STOP", UNSUBSCRIBE: "STOP", END: "STOP", QUIT: "STOP", REVOKE: "STOP", OPTOUT: "STOP",
  START: "START", UNSTOP: "START", YES: "START",
  CONFIRM: "CONFIRM",
  CANCEL: "CANCEL",
  RESCHEDULE: "RESCHEDULE",
};

/**
 * The first word decides, case-insensitive, with surrounding whitespace and punctuation ignored ("  Cancel!!").
 * A message Twilio's Advanced Opt-Out flagged `OptOutType=HELP` (a custom help keyword) is HELP.
 */
export function parseCommand(body: string, optOutType?: string): Command {
  if (optOutType?.toUpperCase() === "HELP") return "HELP";
  const first = firstWord(body);
  return (first && KEYWORDS[first]) || "OTHER";
}

const firstWord = (body: string) => body.match(/[\p{L}\p{N}]+/u)?.[0]?.toUpperCase();

/**
 * Whether the message changes the patient's subscription. Twilio's Advanced Opt-Out flags a message it treated
 * as an opt-out or opt-in with `OptOutType` (e.g. CANCEL is on its default opt-out list); that flag wins.
 */
export function subscriptionChange(command: Command, optOutType?: string): "opt_out" | "opt_in" | undefined {
  const flagged = optOutType?.toUpperCase();
  if (flagged === "STOP") return "opt_out";
  if (flagged === "START") return "opt_in";
  if (command === "STOP") return "opt_out";
  if (command === "START") return "opt_in";
  return undefined;
}

/**
 * What an opt-in (START, UNSTOP, YES, or a message Twilio flagged `OptOutType=START`) does, so that the reply
 * states it: only an opted-out patient is re-subscribed. From a patient who never opted out, YES is an everyday
 * answer ("Yes, see you then") and is treated as an ordinary message (the clinic's auto-reply); START and UNSTOP
 * are told they already are subscribed.
 */
export function optInOutcome(body: string, optedOut: boolean): "resubscribed" | "already_subscribed" | "ordinary" {
  if (optedOut) return "resubscribed";
  return firstWord(body) === "YES" ? "ordinary" : "already_subscribed";
}

/** The commands whose reply depends on an appointment change, so the worker replies once it has made it. */
export const APPOINTMENT_COMMANDS = ["CONFIRM", "CANCEL", "RESCHEDULE"] as const;
export type AppointmentCommand = (typeof APPOINTMENT_COMMANDS)[number];
export const isAppointmentCommand = (c: Command): c is AppointmentCommand =>
  (APPOINTMENT_COMMANDS as readonly string[]).includes(c);

interface ClinicText {
  name: string; phone: string; timezone: string; autoReply: string | null; helpText: string | null;
}

export const UNKNOWN_NUMBER_REPLY = "We don't recognize this phone number. Please contact our office directly.";
export const TECHNICAL_DIFFICULTIES_REPLY =
  "We're experiencing technical difficulties. Please try again later or call our office.";
export const DEFAULT_AUTO_REPLY = "Thank you for your message. We will respond shortly.";

export const replies = {
  help: (c: ClinicText) => c.helpText
    ?? `${c.name}: for help call ${c.phone}. Reply CONFIRM, CANCEL or RESCHEDULE about your next appointment. Reply `
      + `STOP to opt out. Msg & data rates may apply.`,
  autoReply: (c: ClinicText) => c.autoReply ?? DEFAULT_AUTO_REPLY,
  resubscribed: (c: ClinicText) =>
    `${c.name}: you are re-subscribed and will receive messages from us again. Reply STOP to opt out.`,
  alreadySubscribed: (c: ClinicText) =>
    `${c.name}: you are already subscribed to messages from us. Reply STOP to opt out.`,
  noAppointment: (c: ClinicText) => `${c.name}: you have no upcoming appointment. Please call ${c.phone} to book one.`,
  confirmed: (c: ClinicText, at: Date) =>
    `${c.name}: your appointment on ${formatWhen(at, c.timezone)} is confirmed. See you then!`,
  awaitingDeposit: (c: ClinicText, at: Date) =>
    `${c.name}: your appointment on ${formatWhen(at, c.timezone)} is not confirmed yet because the deposit is still `
      + `unpaid. Please update your card or call ${c.phone}.`,
  cancelRequested: (c: ClinicText, at: Date) =>
    `${c.name}: we received your request to cancel your appointment on ${formatWhen(at, c.timezone)}. Our office will `
      + `confirm the cancellation.`,
  rescheduleRequested: (c: ClinicText, at: Date) =>
    `${c.name}: we received your request to reschedule your appointment on ${formatWhen(at, c.timezone)}. Our office `
      + `will contact you with new times.`,
};

const XML_ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;" };

/** A TwiML messaging answer: one <Message>, or an empty <Response/> when nothing is to be sent. */
export function twiml(message?: string): string {
  if (message === undefined) return "<Response/>";
  return `<Response><Message>${message.replace(/[&<>]/g, (c) => XML_ESCAPES[c]!)}</Message></Response>`;
}
