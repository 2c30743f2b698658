import { describe, expect, test } from "bun:test";
import { contentTypeOf, parseInboundSms } from "../../src/domain/inbound-sms";
import { type Command, optInOutcome, parseCommand, subscriptionChange, twiml } from "../../src/domain/sms-commands";

const KEYWORDS = {
  HELP: ["HELP", "INFO"],
  STOP: ["STOP", "STOPALL", "UNSUBSCRIBE", "END", "QUIT", "REVOKE", "OPTOUT"],
  START: ["START", "UNSTOP", "YES"],
  CONFIRM: ["CONFIRM"],
  CANCEL: ["CANCEL"],
  RESCHEDULE: ["RESCHEDULE"],
} as const;

const mixed = (w: string) => [...w].map((c, i) => (i % 2 ? c.toLowerCase() : c.toUpperCase())).join("");

describe("parseCommand", () => {
  for (const [command, words] of Object.entries(KEYWORDS)) {
    for (const word of words) {
      test(`${word} in every case and with punctuation is ${command}`, () => {
        const bodies = [word, word.toLowerCase(), mixed(word), `  ${word}  `, `${word.toLowerCase()}!`, `"${word}."`];
        for (const body of [...bodies, `¡${mixed(word)}!`, `${word}, please`, `${word.toLowerCase()}\nthanks`]) {
          expect(parseCommand(body)).toBe(command as Command);
        }
      });
    }
  }

  test("only the first word counts", () => {
    expect(parseCommand("please cancel")).toBe("OTHER");
    expect(parseCommand("Cancelled already?")).toBe("OTHER");
    expect(parseCommand("stopping by later")).toBe("OTHER");
    expect(parseCommand("")).toBe("OTHER");
    expect(parseCommand("  ?!  ")).toBe("OTHER");
    expect(parseCommand("héllo")).toBe("OTHER");
  });

  test("Twilio's OptOutType=HELP makes a custom help keyword HELP", () => {
    expect(parseCommand("AIDE", "HELP")).toBe("HELP");
    expect(parseCommand("CANCEL", "STOP")).toBe("CANCEL");
  });
});

describe("subscriptionChange", () => {
  test("keywords and Twilio's OptOutType flag", () => {
    expect(subscriptionChange("STOP")).toBe("opt_out");
    expect(subscriptionChange("START")).toBe("opt_in");
    expect(subscriptionChange("CANCEL")).toBeUndefined();
    expect(subscriptionChange("CANCEL", "STOP")).toBe("opt_out");
    expect(subscriptionChange("OTHER", "START")).toBe("opt_in");
    expect(subscriptionChange("HELP", "HELP")).toBeUndefined();
  });
});

describe("optInOutcome", () => {
  test("only an opted-out patient is re-subscribed; YES from a subscribed one is an ordinary message", () => {
    for (const body of ["START", "unstop", "Yes", "YES please"]) expect(optInOutcome(body, true)).toBe("resubscribed");
    expect(optInOutcome("Start!", false)).toBe("already_subscribed");
    expect(optInOutcome("UNSTOP", false)).toBe("already_subscribed");
    expect(optInOutcome("Yes, see you then", false)).toBe("ordinary");
    // A custom opt-in keyword Twilio flagged with OptOutType=START.
    expect(optInOutcome("JOIN", false)).toBe("already_subscribed");
  });
});

describe("parseInboundSms", () => {
  test("keeps every media item and takes the content type from the first", () => {
    const sms = parseInboundSms(new URLSearchParams({
      MessageSid: "MM1", From: "whatsapp:+15557654321", To: "whatsapp:+15551234567", Body: "", NumMedia: "3",
      MediaUrl0: "https://api.twilio.com/m/0", MediaContentType0: "video/mp4",
      MediaUrl1: "https://api.twilio.com/m/1", MediaContentType1: "image/jpeg",
      MediaUrl2: "https://api.twilio.com/m/2", MediaContentType2: "application/pdf",
    }))!;
    expect(sms.channel).toBe("WHATSAPP");
    expect(sms.from).toBe("+15557654321");
    expect(sms.media.map((m) => m.contentType)).toEqual(["video/mp4", "image/jpeg", "application/pdf"]);
    expect(contentTypeOf(sms.media)).toBe("VIDEO");
    expect(contentTypeOf([])).toBe("TEXT");
    expect(contentTypeOf([{ url: "u", contentType: "audio/ogg" }])).toBe("AUDIO");
    expect(contentTypeOf([{ url: "u", contentType: "text/vcard" }])).toBe("DOCUMENT");
  });

  test("refuses parameters without a MessageSid, From or To", () => {
    expect(parseInboundSms(new URLSearchParams({ From: "+15557654321", To: "+15551234567" }))).toBeUndefined();
    expect(parseInboundSms(new URLSearchParams({ MessageSid: "SM1", From: "", To: "+15551234567" }))).toBeUndefined();
    expect(parseInboundSms(new URLSearchParams({ MessageSid: "SM1", From: "+15557654321" }))).toBeUndefined();
  });

  test("a short code or sender ID is kept as sent, a phone number normalised", () => {
    const sms = parseInboundSms(new URLSearchParams({ MessageSid: "SM1", From: "CLINICINFO", To: "89123" }))!;
    expect([sms.from, sms.to]).toEqual(["CLINICINFO", "89123"]);
    expect(parseInboundSms(new URLSearchParams({ MessageSid: "SM2", From: "+1 (555) 765-4321", To: "89123" }))!.from)
      .toBe("+15557654321");
  });
});

test("twiml escapes the message text", () => {
  expect(twiml("A & B <c>")).toBe("<Response><Message>A &amp; B &lt;c&gt;</Message></Response>");
  expect(twiml()).toBe("<Response/>");
});
