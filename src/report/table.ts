import type { SummaryRow } from './summary';

/** Renders rows as a fixed-width text table: first column left-aligned, the rest right. */
export function formatTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, j) => Math.max(h.length, ...rows.map((r) => r[j].length)));
  const line = (cells: string[]) => cells.map((c, j) => (j === 0 ? c.padEnd(widths[j]) : c.padStart(widths[j]))).join('  ');
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function fix(v: string | number | undefined, digits: number): string {
  return typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : '-';
}

/** The console view of a scenario's results: latency table, then per-stage means. */
export function summaryTables(rows: SummaryRow[]): string {
  const latency = formatTable(
    ['pipeline', 'requests', 'done', 'dropped', 'thr/s', 'e2e mean ms', '±95%', 'p50', 'p95', 'p99', 'deadline miss'],
    rows.map((r) => [
      String(r.pipeline), String(r.requests), String(r.completed), String(r.dropped), fix(r.throughput_rps, 2),
      fix(r.e2e_mean_ms, 2), fix(r.e2e_ci95_ms, 2), fix(r.e2e_p50_ms, 2), fix(r.e2e_p95_ms, 2), fix(r.e2e_p99_ms, 2),
      typeof r.deadline_miss_ratio === 'number' && Number.isFinite(r.deadline_miss_ratio) ? `${(100 * r.deadline_miss_ratio).toFixed(1)}%` : '-',
    ]),
  );
  const stages = formatTable(
    ['pipeline (mean ms)', 'device queue', 'device', 'uplink', 'edge queue', 'edge', 'downlink', 'payload B', 'edge util'],
    rows.map((r) => [
      String(r.pipeline), fix(r.device_queue_ms, 2), fix(r.device_ms, 2), fix(r.uplink_ms, 2), fix(r.edge_queue_ms, 2),
      fix(r.edge_ms, 2), fix(r.downlink_ms, 2), fix(r.payload_bytes_mean, 0),
      typeof r.edge_utilization === 'number' && Number.isFinite(r.edge_utilization) ? `${(100 * r.edge_utilization).toFixed(1)}%` : '-',
    ]),
  );
  const measured = rows.filter((r) => typeof r.accuracy === 'number' && Number.isFinite(r.accuracy));
  if (measured.length === 0) return `${latency}\n\n${stages}`;
  const quality = formatTable(
    ['pipeline (measured)', 'top-1', '±95%', 'payload B', 'device energy mJ', 'device', 'edge', 'pipeline measured'],
    measured.map((r) => [
      String(r.pipeline), `${(100 * (r.accuracy as number)).toFixed(2)}%`, `${(100 * (r.accuracy_ci95 as number)).toFixed(2)}`,
      fix(r.payload_bytes_mean, 0), fix(r.device_energy_mj, 2), String(r.meta_device ?? '-'), String(r.meta_edge ?? '-'),
      String(r.meta_measured_pipeline ?? '-'),
    ]),
  );
  return `${latency}\n\n${stages}\n\n${quality}`;
}
