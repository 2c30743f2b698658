// Property-based tests of the pure rules: fast-check draws the inputs (bounded numRuns, so the suite stays fast),
// and shrinks any counter-example it finds to the smallest one.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import {
  APPOINTMENT_STATUSES,
  type AppointmentStatus,
  type CauseType,
  canTransition,
  paymentEffect,
  TRANSITIONS,
} from "../../src/domain/appointments";
import { formatMoney } from "../../src/domain/money";
import { parseCommand, subscriptionChange } from "../../src/domain/sms-commands";
import { advances, finalStatus, SMS_STATUS_RANK, SMS_STATUSES, type SmsStatus } from "../../src/domain/sms-status";
import { nextStep, parseDelays, retryAfterMs } from "../../src/domain/webhook-delivery";

const runs = { numRuns: 300 };

describe("keyword parsing", () => {
  const KEYWORDS = {
    HELP: "HELP",
    INFO: "HELP",
    STOP: "STOP",
    STOPALL: "STOP",
    UNSUBSCRIBE: "STOP",
    END: "STOP",
    QUIT: "STOP",
    REVOKE: "STOP",
    OPTOUT: "STOP",
    START: "START",
    UNSTOP: "START",
    YES: "START",
    CONFIRM: "CONFIRM",
    CANCEL: "CANCEL",
    RESCHEDULE: "RESCHEDULE",
  } as const;
  const keyword = fc.constantFrom(...(Object.keys(KEYWORDS) as (keyof typeof KEYWORDS)[]));
  const anyCase = (word: string) =>
    fc
      .array(fc.boolean(), { minLength: word.length, maxLength: word.length })
      .map((upper) => [...word].map((c, i) => (upper[i] ? c.toUpperCase() : c.toLowerCase())).join(""));
  // Whitespace and punctuation only: never a letter or a digit.
  const noise = fc.string({
    unit: fc.constantFrom(" ", "\t", "\n", ".", "!", "?", ",", "-", "*", '"', "'", "(", "😀"),
  });

  test("a keyword in any case, wrapped in whitespace and punctuation and followed by anything, is its command", () => {
    fc.assert(
      fc.property(
        keyword.chain((k) => fc.tuple(fc.constant(k), anyCase(k))),
        noise,
        noise,
        fc.string(),
        ([k, written], before, after, rest) => {
          const separator = after.length > 0 ? after : " ";
          expect(parseCommand(`${before}${written}${separator}${rest}`)).toBe(KEYWORDS[k]);
        },
      ),
      runs,
    );
  });

  test("any text at all parses to a command without throwing; only the first word counts", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 200 }), fc.string(), (body, rest) => {
        const command = parseCommand(body);
        expect(["HELP", "STOP", "START", "CONFIRM", "CANCEL", "RESCHEDULE", "OTHER"] as string[]).toContain(command);
        if (/[\p{L}\p{N}]/u.test(body)) expect(parseCommand(`${body} ${rest}`)).toBe(command);
      }),
      runs,
    );
  });

  test("a word that merely starts with a keyword is not that keyword", () => {
    fc.assert(
      fc.property(keyword, fc.stringMatching(/^[a-z]{1,6}$/), (k, tail) => {
        const word = `${k}${tail}`.toUpperCase();
        const expected: string = word in KEYWORDS ? KEYWORDS[word as keyof typeof KEYWORDS] : "OTHER";
        expect(parseCommand(word.toLowerCase()) as string).toBe(expected);
      }),
      runs,
    );
  });

  test("Twilio's OptOutType flag wins over the words", () => {
    fc.assert(
      fc.property(fc.string(), fc.constantFrom("STOP", "stop", "START", "Start"), (body, flag) => {
        expect(subscriptionChange(parseCommand(body, flag), flag)).toBe(
          flag.toUpperCase() === "STOP" ? "opt_out" : "opt_in",
        );
      }),
      runs,
    );
    fc.assert(
      fc.property(fc.string(), (body) => expect(parseCommand(body, "help")).toBe("HELP")),
      runs,
    );
  });
});

describe("SMS status rank", () => {
  const status = fc.constantFrom(...SMS_STATUSES);
  const arrivals = fc
    .array(status, { maxLength: 12 })
    .chain((list) =>
      fc.tuple(fc.constant(list), fc.shuffledSubarray(list, { minLength: list.length, maxLength: list.length })),
    );

  test("any arrival order of the same callbacks ends in the same status: the highest ranked", () => {
    fc.assert(
      fc.property(arrivals, ([inOrder, shuffled]) => {
        expect(finalStatus(shuffled)).toBe(finalStatus(inOrder));
        const highest = inOrder.reduce<string>(
          (best, s) => (best === "pending" || SMS_STATUS_RANK[s] > SMS_STATUS_RANK[best as SmsStatus] ? s : best),
          "pending",
        );
        expect(finalStatus(inOrder)).toBe(highest);
      }),
      runs,
    );
  });

  test("a message never moves backwards, and a repeated status never moves it", () => {
    fc.assert(
      fc.property(fc.array(status, { maxLength: 20 }), (callbacks) => {
        let current: string = "pending";
        for (const next of callbacks) {
          const before = current === "pending" ? -1 : SMS_STATUS_RANK[current as SmsStatus];
          if (advances(current, next)) current = next;
          const after = current === "pending" ? -1 : SMS_STATUS_RANK[current as SmsStatus];
          expect(after).toBeGreaterThanOrEqual(before);
          expect(advances(current, current as SmsStatus)).toBe(false);
        }
      }),
      runs,
    );
  });
});

describe("appointment transitions", () => {
  const statusArb = fc.constantFrom(...APPOINTMENT_STATUSES);
  const causeArb = fc.constantFrom<CauseType>("webhook_event", "sms", "api", "job");
  const requests = fc.array(fc.tuple(statusArb, causeArb), { maxLength: 30 });

  test("a walk of random requests only makes allowed moves, and nothing leaves cancelled or completed", () => {
    fc.assert(
      fc.property(statusArb, requests, (start, steps) => {
        let current: AppointmentStatus = start;
        for (const [to, by] of steps) {
          const allowed = canTransition(current, to, by);
          if (current === "cancelled" || current === "completed") expect(allowed).toBe(false);
          if (to === current) expect(allowed).toBe(false);
          if (allowed) current = to;
        }
      }),
      runs,
    );
  });

  test("after a patient's CANCEL or RESCHEDULE request, a payment or a job never confirms the appointment", () => {
    fc.assert(
      fc.property(
        fc.constantFrom<AppointmentStatus>("cancellation_requested", "reschedule_requested"),
        fc.constantFrom<CauseType>("webhook_event", "job"),
        (from, by) => {
          expect(canTransition(from, "confirmed", by)).toBe(false);
          expect(paymentEffect(from).kind).toBe("keep");
        },
      ),
      runs,
    );
  });

  test("a payment confirms exactly when the table lets a webhook event confirm", () => {
    fc.assert(
      fc.property(statusArb, (status) => {
        const confirms = status === "confirmed" || (TRANSITIONS[status].confirmed ?? []).includes("webhook_event");
        expect(paymentEffect(status).kind).toBe(confirms ? "confirm" : "keep");
      }),
      runs,
    );
  });
});

describe("money formatting", () => {
  const amount = fc.integer({ min: 0, max: 10 ** 12 });
  const known = fc.constantFrom(
    ["usd", 2],
    ["eur", 2],
    ["gbp", 2],
    ["jpy", 0],
    ["krw", 0],
    ["kwd", 3],
    ["bhd", 3],
  ) as fc.Arbitrary<[string, number]>;

  test("the digits shown are exactly the minor units, with the currency's number of decimals", () => {
    fc.assert(
      fc.property(amount, known, (minor, [currency, decimals]) => {
        const text = formatMoney(minor, currency);
        expect(text.replace(/\D/g, "")).toBe(String(minor).padStart(decimals + 1, "0"));
        expect(text.match(/\.(\d+)/)?.[1]?.length ?? 0).toBe(decimals);
      }),
      runs,
    );
  });

  test("any currency code, even one Intl does not know, formats without throwing and keeps the digits", () => {
    fc.assert(
      fc.property(amount, fc.stringMatching(/^[a-zA-Z]{3}$/), (minor, currency) => {
        const digits = formatMoney(minor, currency).replace(/\D/g, "").replace(/^0+/, "");
        expect(digits).toBe(String(minor).replace(/^0+/, ""));
      }),
      runs,
    );
    fc.assert(
      fc.property(fc.integer(), fc.string(), (minor, currency) => {
        expect(typeof formatMoney(minor, currency)).toBe("string");
      }),
      runs,
    );
  });
});

describe("retry schedule", () => {
  const delays = fc.array(fc.integer({ min: 0, max: 60_000 }), { maxLength: 6 });
  const failure = fc.oneof(
    fc
      .integer({ min: 300, max: 599 })
      .filter((s) => s !== 410)
      .map((status) => ({ status })),
    fc.constantFrom({ errorType: "timeout" as const }, { errorType: "network" as const }),
  );
  const now = new Date("2026-11-23T12:00:00Z");

  test("failures are retried once per configured delay, each at least that long after, then the delivery fails", () => {
    fc.assert(
      fc.property(delays, fc.array(failure, { minLength: 8, maxLength: 8 }), (schedule, outcomes) => {
        let attempt = 1;
        for (const outcome of outcomes) {
          const step = nextStep(attempt, schedule, outcome, now);
          if (attempt <= schedule.length) {
            expect(step.kind).toBe("retry");
            if (step.kind === "retry") {
              expect(step.delayMs).toBeGreaterThanOrEqual(schedule[attempt - 1]!);
              expect(step.delayMs).toBeLessThanOrEqual(Math.max(schedule[attempt - 1]!, 3_600_000));
            }
          } else {
            expect(step).toMatchObject({ kind: "failed", disableEndpoint: false });
            break;
          }
          attempt++;
        }
      }),
      runs,
    );
  });

  test("any 2xx succeeds and a 410 disables the endpoint, at any attempt", () => {
    fc.assert(
      fc.property(
        delays,
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 200, max: 299 }),
        (schedule, attempt, ok) => {
          expect(nextStep(attempt, schedule, { status: ok }, now)).toEqual({ kind: "succeeded" });
          expect(nextStep(attempt, schedule, { status: 410 }, now)).toEqual({
            kind: "failed",
            errorType: "gone",
            disableEndpoint: true,
          });
        },
      ),
      runs,
    );
  });

  test("the configured delays read back as written; Retry-After is never negative nor above an hour", () => {
    fc.assert(
      fc.property(fc.array(fc.nat(), { minLength: 1, maxLength: 8 }), (list) => {
        expect(parseDelays(list.join(","))).toEqual(list);
      }),
      runs,
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.integer().map(String),
          fc.date({ noInvalidDate: true }).map((d) => d.toUTCString()),
        ),
        (header) => {
          const ms = retryAfterMs(header, now);
          if (ms !== undefined) {
            expect(ms).toBeGreaterThanOrEqual(0);
            expect(ms).toBeLessThanOrEqual(3_600_000);
          }
        },
      ),
      runs,
    );
  });
});
