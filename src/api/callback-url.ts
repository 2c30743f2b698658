import type { Deps } from "../deps";
import { badRequest } from "../errors";
import { RefusedTarget, resolveTarget } from "../outbound/ssrf";

/** Refuses callback URLs Switchboard must not call (SPEC 6, SSRF): a 400 at creation, not a failed delivery later. */
export async function checkCallbackUrl(deps: Pick<Deps, "config">, url: string): Promise<void> {
  try {
    await resolveTarget(url, { allowPrivate: deps.config.OUTBOUND_ALLOW_PRIVATE });
  } catch (error) {
    if (error instanceof RefusedTarget) throw badRequest(`callback_url refused: ${error.message}`);
    throw error;
  }
}
