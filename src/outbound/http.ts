import { storableText } from "../domain/text";
import http from "node:http";
import https from "node:https";
import type { Target } from "./ssrf";

export const RESPONSE_BODY_LIMIT = 4096;

export type ErrorType = "timeout" | "network" | "http_status" | "redirect" | "refused" | "gone";

export interface HttpResult {
  status?: number;
  headers?: Record<string, string | string[] | undefined>;
  /** First 4 KiB of the response. */
  body?: string;
  error?: string;
  errorType?: "timeout" | "network";
}

/** Sends one POST; resolves (never rejects) with what happened. Injected so tests can watch for connections. */
export type Transport = (
  target: Target, headers: Record<string, string>, body: string, timeoutMs: number, signal?: AbortSignal,
) => Promise<HttpResult>;

/**
 * POST with node:http(s) to the already-checked IP literal: the Host header and TLS servername carry the
 * name, so virtual hosting and certificate checks work while DNS is never asked a second time. Redirects
 * are never followed (node:http does not follow them); the timeout covers the whole exchange.
 */
export const httpTransport: Transport = (target, headers, body, timeoutMs, signal) => new Promise((resolve) => {
  const secure = target.url.protocol === "https:";
  const defaultPort = secure ? 443 : 80;
  const hostHeader = target.url.host || `${target.hostname}${target.port === defaultPort ? "" : `:${target.port}`}`;
  let settled = false;
  const finish = (result: HttpResult) => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    signal?.removeEventListener("abort", abort);
    resolve(result);
  };
  // The worker is stopping: give up now (the attempt is recorded as failed and retried, same webhook-id).
  const abort = () => {
    finish({ error: "attempt abandoned: the worker is shutting down", errorType: "network" });
    request.destroy();
  };
  const options: https.RequestOptions = {
    host: target.address,
    family: target.family,
    port: target.port,
    path: `${target.url.pathname}${target.url.search}`,
    method: "POST",
    agent: false,
    headers: { ...headers, host: hostHeader, "content-length": String(Buffer.byteLength(body)) },
    ...(secure ? { servername: target.hostname } : {}),
  };
  const request = (secure ? https : http).request(options, (response) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = () => finish({
      status: response.statusCode,
      headers: response.headers,
      body: storableText(Buffer.concat(chunks).subarray(0, RESPONSE_BODY_LIMIT).toString("utf8")),
    });
    response.on("data", (chunk: Buffer) => {
      if (size < RESPONSE_BODY_LIMIT) chunks.push(chunk);
      size += chunk.length;
      // Enough kept: no reason to download the rest of a large answer.
      if (size >= RESPONSE_BODY_LIMIT) {
        done();
        response.destroy();
      }
    });
    response.on("end", done);
    response.on("error", done);
  });
  const timer = setTimeout(() => {
    finish({ error: `no complete answer within ${timeoutMs} ms`, errorType: "timeout" });
    request.destroy();
  }, timeoutMs);
  if (signal?.aborted) abort();
  else signal?.addEventListener("abort", abort, { once: true });
  request.on("error", (error: NodeJS.ErrnoException) => {
    finish({ error: `${error.code ? `${error.code}: ` : ""}${error.message}`, errorType: "network" });
  });
  request.end(body);
});
