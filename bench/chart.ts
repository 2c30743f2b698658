import type { PeakResult } from "./peak";
import type { Search } from "./sustained";

const COLORS: Record<string, string> = {
  a: "#9aa5b1", b: "#e4a672", c: "#2f7fd1", all: "#3a9a5b", "web+worker": "#8e5ac8",
};
const LABELS: Record<string, string> = {
  a: "a: bare Bun, one INSERT", b: "b: naive transaction", c: "c: Switchboard ROLE=web (peak ingest)",
  all: "sustained: ROLE=all", "web+worker": "sustained: web + worker",
};
const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");

interface Bar { key: string; value: number; note: string }

/**
 * Hand-written SVG, one axis of requests per second: peak accepted/s of a, b and c per provider and connection
 * count (ack p99 in ms above each bar), then the sustained end-to-end rate of `all` and `web+worker` per provider.
 */
export function renderChart(report: {
  machine: { cpus: number; cpuModel: string }; startedAt: string; peak: PeakResult[]; sustained: Search[];
}): string {
  const groups = new Map<string, Bar[]>();
  const add = (group: string, bar: Bar) => groups.set(group, [...(groups.get(group) ?? []), bar]);
  for (const r of report.peak) {
    const note = `${Math.round(r.latencyMs.p99)}`;
    add(`${r.provider} @${r.connections}`, { key: r.target, value: r.acceptedPerSec, note });
  }
  for (const s of report.sustained) {
    const ack = s.ackP99AtRate === undefined ? "no step passed" : `${Math.round(s.ackP99AtRate)}`;
    add(`${s.provider} sustained @${s.connections}`, { key: s.kind, value: s.sustainedRate, note: ack });
  }
  const W = 960, H = 440, left = 70, top = 60, bottom = 90, plotH = H - top - bottom;
  const all = [...groups.values()].flat();
  const max = Math.max(1, ...all.map((b) => b.value));
  const groupW = (W - left - 20) / Math.max(1, groups.size);
  const barW = Math.min(50, (groupW - 24) / 3);
  const y = (v: number) => top + plotH - (v / max) * plotH;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${left}" y="22" font-size="15" font-weight="bold">Webhooks per second (higher is better): peak `
      + `accepted/s, and sustained end-to-end rate; ack p99 ms above each bar</text>`,
    `<text x="${left}" y="40" fill="#555">${esc(`${report.machine.cpus}× ${report.machine.cpuModel}, wrk + servers `
      + `+ Postgres on the same machine, ${report.startedAt.slice(0, 10)}`)}</text>`,
  ];
  for (let i = 0; i <= 4; i++) {
    const v = (max * i) / 4;
    out.push(`<line x1="${left}" x2="${W - 20}" y1="${y(v)}" y2="${y(v)}" stroke="#eee"/>`,
      `<text x="${left - 6}" y="${y(v) + 4}" text-anchor="end" fill="#555">${Math.round(v)}</text>`);
  }
  [...groups.entries()].forEach(([group, bars], gi) => {
    const x0 = left + gi * groupW + 12;
    bars.forEach((bar, i) => {
      const x = x0 + i * barW;
      out.push(`<rect x="${x}" y="${y(bar.value)}" width="${barW - 4}" height="${top + plotH - y(bar.value)}" `
        + `fill="${COLORS[bar.key] ?? "#555"}"/>`,
      `<text x="${x + (barW - 4) / 2}" y="${y(bar.value) - 4}" text-anchor="middle" font-size="10">${bar.note}</text>`);
    });
    // Two lines (the provider, then the rest), so that eight groups' labels fit under their bars.
    const [provider, ...rest] = group.split(" ");
    const cx = x0 + (barW * bars.length) / 2;
    out.push(`<text x="${cx}" y="${top + plotH + 16}" text-anchor="middle" font-size="11">${esc(provider!)}`
      + `<tspan x="${cx}" dy="13">${esc(rest.join(" "))}</tspan></text>`);
  });
  const keys = Object.keys(LABELS).filter((k) => all.some((b) => b.key === k));
  keys.forEach((k, i) => {
    const x = left + (i % 3) * 290, row = H - 48 + Math.floor(i / 3) * 20;
    out.push(`<rect x="${x}" y="${row}" width="12" height="12" fill="${COLORS[k]}"/>`,
      `<text x="${x + 18}" y="${row + 10}">${esc(LABELS[k]!)}</text>`);
  });
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}
