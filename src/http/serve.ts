import type { Deps } from "../deps";
import { createApp, createOpsApp } from "./app";
import type { Listening } from "./banner";

export interface Servers extends Listening {
  /** Stops taking requests on every port. */
  stop(): Promise<void>;
}

/**
 * The HTTP side of a process. web/all: the service on PORT. worker: health and metrics on PORT, so its counters
 * are scraped and Fly can check it. With METRICS_PORT: health and metrics there too (any role), without a token.
 */
export function startHttp(deps: Deps): Servers {
  const { ROLE, PORT, METRICS_PORT } = deps.config;
  const main = (ROLE === "worker" ? createOpsApp(deps) : createApp(deps)).listen({ port: PORT, hostname: "0.0.0.0" });
  const ops =
    METRICS_PORT !== undefined ? createOpsApp(deps).listen({ port: METRICS_PORT, hostname: "0.0.0.0" }) : undefined;
  return {
    port: main.server?.port,
    metricsPort: ops?.server?.port ?? (ROLE === "worker" ? main.server?.port : undefined),
    async stop() {
      await Promise.all([main.stop(), ops?.stop()]);
    },
  };
}
