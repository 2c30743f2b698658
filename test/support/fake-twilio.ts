// The fake Twilio REST API lives with `npm run dev`'s stand-ins: the tests and local development use the same one.
export { type FakeMessage, type FakeTwilio, startFakeTwilio, type TwilioError } from "../../src/dev/fakes/twilio";
