// The fake Twilio REST API lives with `npm run dev`'s stand-ins: the tests and local development use the same one.
export { type FakeTwilio, startFakeTwilio } from "../../src/dev/fakes/twilio";
export type { FakeMessage, TwilioError } from "../../src/dev/fakes/twilio-wire";
