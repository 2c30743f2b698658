import type { Deps } from "../deps";
import { cidrMatcher } from "./request";

export type SourceCheck = (request: Request, peer: string | undefined) => boolean;

/** INBOUND_ALLOW_CIDRS applied to the address the platform reports (Fly-Client-IP), else the peer. */
export function sourceCheck(deps: Deps): SourceCheck {
  const allowed = cidrMatcher(deps.config.INBOUND_ALLOW_CIDRS);
  return (request, peer) => {
    return allowed(request.headers.get("fly-client-ip") ?? peer ?? "");
  };
}
