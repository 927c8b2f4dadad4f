import { usePageTitle } from '../components/usePageTitle';
import { useMemo } from 'react';
import { api } from '../api';
import { color, LiveChart } from '../components/LiveChart';
import { Stat } from '../components/Stat';
import { useAppSelector } from '../hooks';

const fmt = (v: number | null | undefined, digits = 1, unit = ''): string =>
  v == null ? '–' : `${v.toFixed(digits)}${unit}`;
const pct = (v: number | null | undefined): string => (v == null ? '–' : `${(v * 100).toFixed(1)}%`);
const gib = (b: number | undefined): string => (b == null ? '–' : `${(b / 2 ** 30).toFixed(1)} GiB`);

export default function Overview() {
  usePageTitle('Overview');
  const metrics = useAppSelector((s) => s.live.metrics);
  const connected = useAppSelector((s) => s.live.connected);
  const { data: platform } = api.useGetApiV1PlatformQuery();
  const last = metrics[metrics.length - 1];

  const times = useMemo(() => metrics.map((m) => m.ts), [metrics]);
  const traffic = useMemo(() => [
    { label: 'requests/s', values: metrics.map((m) => m.requests_per_s), color: color(0) },
  ], [metrics]);
  const latency = useMemo(() => [
    { label: 'p50 ms', values: metrics.map((m) => m.p50_ms), color: color(2) },
    { label: 'p99 ms', values: metrics.map((m) => m.p99_ms), color: color(1) },
  ], [metrics]);
  const replicas = Object.entries(last?.replicas ?? {}).sort();

  return (
    <section aria-labelledby="overview-title">
      <h1 id="overview-title">Overview</h1>
      <p className="muted">
        {connected ? 'Live: updated every second.' : 'Waiting for live metrics…'}
        {platform && <> · <a href={platform.ray_dashboard_url} target="_blank" rel="noreferrer">Ray dashboard</a></>}
      </p>
      <div className="stats">
        <Stat label="requests/s" value={fmt(last?.requests_per_s)} testId="stat-rps" />
        <Stat label="p50 latency" value={fmt(last?.p50_ms, 1, ' ms')} />
        <Stat label="p99 latency" value={fmt(last?.p99_ms, 1, ' ms')} />
        <Stat label="error rate" value={pct(last?.error_rate)} />
        <Stat label="cache hit rate" value={pct(last?.cache_hit_rate)} />
        <Stat label="rate-limited (last s)" value={String(last?.rate_limited ?? '–')} />
        <Stat label="running jobs" value={String(last?.running_jobs ?? '–')} />
        <Stat label="CPU (node)" value={fmt(last?.node_cpu_percent, 0, '%')} />
        <Stat label="CPUs reserved" value={last?.cpu_total ? `${fmt(last.cpu_reserved, 2)} / ${last.cpu_total}` : '–'} />
        <Stat label="memory" value={`${gib(last?.memory_used_bytes)} / ${gib(last?.memory_total_bytes)}`} />
      </div>
      <div className="grid2">
        <LiveChart title="Requests per second" times={times} series={traffic} />
        <LiveChart title="Latency" times={times} series={latency} unit=" ms" />
      </div>
      <h2>Serve replicas</h2>
      {replicas.length === 0 ? <p className="muted">–</p> : (
        <ul className="replicas">
          {replicas.map(([name, n]) => <li key={name}><strong>{n}</strong> {name}</li>)}
        </ul>
      )}
    </section>
  );
}
