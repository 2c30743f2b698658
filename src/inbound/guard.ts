import type { Config } from "../config";
import { cidrMatcher } from "../domain/ip";

export type SourceCheck = (request: Request, peer: string | undefined) => boolean;

/**
 * INBOUND_ALLOW_CIDRS applied to the client's address: the socket's peer, or with TRUST_PROXY=fly the
 * `Fly-Client-IP` header Fly's proxy sets. Without TRUST_PROXY the header is the caller's word and is ignored:
 * anyone can send it.
 */
export function sourceCheck(config: Pick<Config, "INBOUND_ALLOW_CIDRS" | "TRUST_PROXY">): SourceCheck {
  const allowed = cidrMatcher(config.INBOUND_ALLOW_CIDRS);
  const fromFly = config.TRUST_PROXY === "fly";
  return (request, peer) => allowed((fromFly ? request.headers.get("fly-client-ip")?.trim() : undefined) || peer || "");
}
