// The service as `npm run dev` runs it: src/main.ts, plus one tie to the parent. When `npm run dev` goes away, even
// killed with -9, the pipe on our stdin closes and the service drains and stops as on Ctrl-C, instead of living on.
process.stdin.on("end", () => process.kill(process.pid, "SIGTERM"));
process.stdin.resume();
await import("../main");

export {};
