import type { Deps } from "../deps";
import { createApp, createOpsApp } from "./app";
import type { Listening } from "./banner";

export interface Servers extends Listening {
  /** Stops taking requests on every port. */
  stop(): Promise<void>;
}

/**
 * The HTTP side of a process. web/all: the service on PORT, plus health and metrics alone on METRICS_PORT when
 * set (without a token). worker: health and metrics only, on METRICS_PORT or else on PORT, so its counters are
 * scraped and Fly can check it.
 */
export function startHttp(deps: Deps): Servers {
  const { ROLE, PORT, METRICS_PORT } = deps.config;
  const main = ROLE === "worker" ? undefined : createApp(deps).listen({ port: PORT, hostname: "0.0.0.0" });
  const opsPort = METRICS_PORT ?? (ROLE === "worker" ? PORT : undefined);
  const ops = opsPort === undefined ? undefined : createOpsApp(deps).listen({ port: opsPort, hostname: "0.0.0.0" });
  return {
    port: main?.server?.port,
    metricsPort: ops?.server?.port,
    async stop() {
      await Promise.all([main?.stop(), ops?.stop()]);
    },
  };
}
