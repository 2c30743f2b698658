// The demo data `npm run seed` creates; `simulate` texts the demo clinic when no --to is given.
export const DEMO_CLINIC = {
  name: "Harbor Dental (demo)", phone: "+15550100100", timezone: "America/New_York",
  email: "front-desk@harbor-dental.test",
};
export const DEMO_PATIENTS = [
  { key: "ada", name: "Ada Lovelace", phone: "+15550101111", email: "ada@example.com", optOut: false,
    note: "has an email: payment and refund notices reach her" },
  { key: "ben", name: "Ben Okafor", phone: "+15550102222", optOut: true,
    note: "texted STOP: gets no SMS until he texts START" },
  { key: "cleo", name: "Cleo Martin", phone: "+15550100000", optOut: false,
    note: "her number ends in 0000: every SMS to her comes back undelivered (30003)" },
] as const;
