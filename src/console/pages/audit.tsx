import type { auditLog } from "../../../db/schema";
import { Empty, Layout, type PageContext, Pager, Time, type Q } from "../ui";

type Audit = typeof auditLog.$inferSelect;
const subjectLink = (a: Audit) => {
  const base = { webhook_event: "events", delivery: "deliveries", endpoint: "endpoints" }[a.subjectType];
  return base && a.subjectId ? (
    <a href={`/console/${base}/${a.subjectId}`}>
      {a.subjectType} {a.subjectId}
    </a>
  ) : (
    <span>{a.subjectType}</span>
  );
};

export function AuditPage({
  ctx,
  query,
  rows,
  next,
}: {
  ctx: PageContext;
  query: Q;
  rows: (Audit & { cursor: string })[];
  next?: string;
}) {
  return (
    <Layout title="Audit" section="audit" ctx={ctx}>
      <h1>Console actions</h1>
      {rows.length === 0 ? (
        <Empty>
          <p>Nothing done from the console yet.</p>
        </Empty>
      ) : (
        <table class="list">
          <thead>
            <tr>
              <th>When (UTC)</th>
              <th>Action</th>
              <th>On</th>
              <th>From</th>
              <th>Detail</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((a) => (
              <tr>
                <td>
                  <Time at={a.at} />
                </td>
                <td>{a.action}</td>
                <td>{subjectLink(a)}</td>
                <td class="mono">{a.actor ?? "—"}</td>
                <td class="mono small wrap">{Object.keys(a.detail).length ? JSON.stringify(a.detail) : ""}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Pager base="/console/audit" query={query} next={next} />
    </Layout>
  );
}
