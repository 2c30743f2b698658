// The SMTP sink lives with `npm run dev`'s stand-ins: the tests and local development use the same one.
export { type SinkMessage, startSmtpSink } from "../../src/dev/fakes/smtp-sink";
