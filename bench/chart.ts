import type { Result } from "./measure";

const COLORS = { a: "#9aa5b1", b: "#e4a672", c: "#2f7fd1" } as const;
const LABELS = {
  a: "a: bare Bun, one INSERT", b: "b: naive transaction (INSERT + add_job)", c: "c: Switchboard (group commit)",
} as const;
const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");

/** Hand-written SVG: accepted/s per provider and connection count, bars a, b, c side by side, p99 over each bar. */
export function renderChart(
  report: { machine: { cpus: number; cpuModel: string }; startedAt: string; results: Result[] },
): string {
  const groups = [
    ...new Set(report.results.filter((r) => r.rate === undefined).map((r) => `${r.provider} @${r.connections}`)),
  ];
  const rows = (g: string) =>
    report.results.filter((r) => r.rate === undefined && `${r.provider} @${r.connections}` === g);
  const max = Math.max(1, ...report.results.map((r) => r.acceptedPerSec));
  const W = 860, H = 420, left = 70, top = 60, bottom = 70, plotH = H - top - bottom;
  const groupW = (W - left - 20) / Math.max(1, groups.length), barW = Math.min(60, (groupW - 30) / 3);
  const y = (v: number) => top + plotH - (v / max) * plotH;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${left}" y="22" font-size="15" font-weight="bold">Acknowledged webhooks per second (higher is better); `
      + `p99 ms above each bar</text>`,
    `<text x="${left}" y="40" fill="#555">${esc(`${report.machine.cpus}× ${report.machine.cpuModel}, `
      + `load generator + server + Postgres on the same machine, ${report.startedAt.slice(0, 10)}`)}</text>`,
  ];
  for (let i = 0; i <= 4; i++) {
    const v = (max * i) / 4;
    out.push(`<line x1="${left}" x2="${W - 20}" y1="${y(v)}" y2="${y(v)}" stroke="#eee"/>`,
      `<text x="${left - 6}" y="${y(v) + 4}" text-anchor="end" fill="#555">${Math.round(v)}</text>`);
  }
  groups.forEach((g, gi) => {
    const x0 = left + gi * groupW + 15;
    rows(g).forEach((r) => {
      const x = x0 + "abc".indexOf(r.target) * barW;
      out.push(`<rect x="${x}" y="${y(r.acceptedPerSec)}" width="${barW - 4}" `
        + `height="${top + plotH - y(r.acceptedPerSec)}" fill="${COLORS[r.target]}"/>`,
        `<text x="${x + (barW - 4) / 2}" y="${y(r.acceptedPerSec) - 4}" text-anchor="middle" `
          + `font-size="10">${Math.round(r.p99)}</text>`);
    });
    out.push(`<text x="${x0 + (barW * 3) / 2}" y="${top + plotH + 18}" text-anchor="middle">${esc(g)}</text>`);
  });
  (Object.keys(LABELS) as (keyof typeof LABELS)[]).forEach((t, i) => {
    const x = left + i * 260;
    out.push(
      `<rect x="${x}" y="${H - 28}" width="12" height="12" fill="${COLORS[t]}"/>`,
      `<text x="${x + 18}" y="${H - 18}">${esc(LABELS[t])}</text>`,
    );
  });
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}
