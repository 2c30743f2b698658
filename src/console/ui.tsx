import { mask } from "../log";
import { type Child, Html, render } from "#html/jsx-runtime";

/** The rows of a list query's page. */
export type Rows<F extends (...a: any[]) => Promise<{ rows: unknown[] }>> = Awaited<ReturnType<F>>["rows"];
/** A page's query string, as Elysia parses it. */
export type Q = Record<string, unknown>;

export interface PageContext {
  /** The CSRF token for this session's forms. */
  csrf: string;
  publicUrl?: string;
}

const NAV = [
  ["overview", "/console", "Overview"],
  ["events", "/console/events", "Webhooks"],
  ["deliveries", "/console/deliveries", "Deliveries"],
  ["endpoints", "/console/endpoints", "Endpoints"],
  ["appointments", "/console/appointments", "Appointments"],
  ["sms", "/console/sms", "SMS"],
  ["emails", "/console/emails", "Emails"],
  ["audit", "/console/audit", "Audit"],
] as const;
export type Section = (typeof NAV)[number][0];

export function Layout(props: {
  title: string;
  section?: Section;
  ctx?: PageContext;
  children?: Child;
  flash?: string;
}) {
  return new Html(
    "<!doctype html>" +
      render(
        <html lang="en">
          <head>
            <meta charset="utf-8" />
            <meta name="viewport" content="width=device-width, initial-scale=1" />
            <meta
              name="htmx-config"
              content='{"includeIndicatorStyles":false,"allowEval":false,"allowScriptTags":false}'
            />
            <title>{props.title} · Switchboard</title>
            <link rel="stylesheet" href="/console/assets/console.css" />
            <script src="/console/assets/htmx.min.js" defer></script>
          </head>
          <body>
            <header class="top">
              <a class="brand" href="/console">
                Switchboard
              </a>
              {props.ctx && (
                <nav>
                  {NAV.map(([key, href, label]) => (
                    <a href={href} class={key === props.section ? "active" : undefined}>
                      {label}
                    </a>
                  ))}
                </nav>
              )}
              {props.ctx && (
                <form method="post" action="/console/sign-out" class="signout">
                  <Csrf ctx={props.ctx} />
                  <button type="submit" class="link">
                    Sign out
                  </button>
                </form>
              )}
            </header>
            <main>
              {props.flash && (
                <p class="flash" role="status">
                  {props.flash}
                </p>
              )}
              {props.children}
            </main>
          </body>
        </html>,
      ),
  );
}

export const Csrf = ({ ctx }: { ctx: PageContext }) => <input type="hidden" name="_csrf" value={ctx.csrf} />;

const TONE: Record<string, string> = {
  processed: "ok",
  succeeded: "ok",
  sent: "ok",
  delivered: "ok",
  read: "ok",
  confirmed: "ok",
  enabled: "ok",
  completed: "ok",
  pending: "wait",
  queued: "wait",
  sending: "wait",
  accepted: "wait",
  scheduled: "wait",
  payment_pending: "wait",
  cancellation_requested: "wait",
  reschedule_requested: "wait",
  failing: "wait",
  failed: "bad",
  undelivered: "bad",
  disabled: "bad",
  cancelled: "bad",
  canceled: "bad",
  ignored: "muted",
  logged: "muted",
};

export const Badge = ({ status }: { status: string | null | undefined }) =>
  status ? (
    <span class={["badge", TONE[status] ?? "muted"]}>{status.replaceAll("_", " ")}</span>
  ) : (
    <span class="muted">—</span>
  );

const pad = (n: number) => String(n).padStart(2, "0");
export function formatTime(at: Date | string | null | undefined): string {
  if (!at) return "—";
  const d = new Date(at);
  const day = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  return `${day} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

export const Time = ({ at }: { at: Date | string | null | undefined }) =>
  at ? <time datetime={new Date(at).toISOString()}>{formatTime(at)}</time> : <span class="muted">—</span>;

/** Phone numbers and emails in lists are masked (`+1555***4321`); detail pages show them whole. */
export const Masked = ({ text }: { text: string | null | undefined }) => <span>{text ? mask(text) : "—"}</span>;

export const Empty = ({ children }: { children?: Child }) => <div class="empty">{children}</div>;

export function KeyValues({ rows }: { rows: [string, Child][] }) {
  return (
    <dl class="kv">
      {rows.map(([k, v]) => (
        <>
          <dt>{k}</dt>
          <dd>{v === null || v === undefined || v === "" ? "—" : v}</dd>
        </>
      ))}
    </dl>
  );
}

/** Links to the next (older) page, keeping the filters. */
export function Pager({ base, query, next }: { base: string; query: Record<string, unknown>; next?: string }) {
  const keep = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (typeof v === "string" && v !== "" && k !== "before") keep.set(k, v);
  const newest = keep.toString();
  if (next) keep.set("before", next);
  return (
    <nav class="pager">
      {query.before ? <a href={`${base}${newest ? `?${newest}` : ""}`}>« Newest</a> : <span />}
      {next ? <a href={`${base}?${keep.toString()}`}>Older »</a> : <span class="muted">No older entries</span>}
    </nav>
  );
}

export function Select(props: {
  name: string;
  value?: string;
  options: readonly string[];
  all: string;
  label: string;
}) {
  return (
    <label>
      {props.label}
      <select name={props.name}>
        <option value="">{props.all}</option>
        {props.options.map((o) => (
          <option value={o} selected={o === props.value}>
            {o}
          </option>
        ))}
      </select>
    </label>
  );
}

/** A datetime-local input (UTC) showing a Date. */
export const timeValue = (at: Date | undefined) => (at ? at.toISOString().slice(0, 16) : undefined);

/** A POST form with one button; `confirm` leads to a confirmation page instead (GET) when set. */
export function Action(props: { action: string; label: string; ctx: PageContext; danger?: boolean; children?: Child }) {
  return (
    <form method="post" action={props.action} class="inline">
      <Csrf ctx={props.ctx} />
      {props.children}
      <button type="submit" class={props.danger ? "danger" : "primary"}>
        {props.label}
      </button>
    </form>
  );
}

/** A JSON value as a nested, readable tree (objects and arrays fold open). */
export function JsonTree({ value, depth = 0 }: { value: unknown; depth?: number }): Html {
  if (value === null) return <span class="j-null">null</span>;
  if (typeof value === "string") return <span class="j-str">"{value}"</span>;
  if (typeof value === "number" || typeof value === "boolean") return <span class="j-num">{String(value)}</span>;
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value as object);
  if (entries.length === 0) return <span class="j-num">{Array.isArray(value) ? "[]" : "{}"}</span>;
  return (
    <details open={depth < 6}>
      <summary>{Array.isArray(value) ? `[${entries.length}]` : `{${entries.length}}`}</summary>
      <ul class="tree">
        {entries.map(([k, v]) => (
          <li>
            <span class="j-key">{k}</span>: <JsonTree value={v} depth={depth + 1} />
          </li>
        ))}
      </ul>
    </details>
  );
}

/** A body as a person reads it: JSON as a tree, a form as a parameter table, anything else as text. */
export function Body({ text, contentType }: { text: string; contentType?: string | null }) {
  if (text === "") return <p class="muted">(empty; bodies are removed after the retention period)</p>;
  const trimmed = text.trimStart();
  if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
    try {
      return (
        <div class="json">
          <JsonTree value={JSON.parse(text)} />
        </div>
      );
    } catch {
      /* not JSON after all: shown as text */
    }
  }
  if ((contentType ?? "").includes("x-www-form-urlencoded") || /^[\w.%-]+=[^\s]*(&[\w.%-]+=[^\s]*)*$/.test(text)) {
    const params = [...new URLSearchParams(text)];
    return (
      <table class="params">
        <thead>
          <tr>
            <th>Parameter</th>
            <th>Value</th>
          </tr>
        </thead>
        <tbody>
          {params.map(([k, v]) => (
            <tr>
              <td class="mono">{k}</td>
              <td class="mono wrap">{v}</td>
            </tr>
          ))}
        </tbody>
      </table>
    );
  }
  return <pre class="wrap">{text}</pre>;
}
