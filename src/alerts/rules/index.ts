import type { Rule } from "../rule";
import { backlog } from "./backlog";
import { ingestLatency, processingFailures, providerSilence, twilioDebugger } from "./inbound";
import { emailOutbox, smsFailures } from "./messaging";
import { deliveryFailures, deliveryRetries } from "./outbound";

/** Every alert rule, in the order they are evaluated (and listed in notifications). */
export const RULES: Rule<any>[] = [
  processingFailures, backlog, ingestLatency, deliveryFailures, deliveryRetries, smsFailures, emailOutbox,
  providerSilence, twilioDebugger,
];

export const ruleByName = (name: string): Rule<any> | undefined => RULES.find((r) => r.name === name);
