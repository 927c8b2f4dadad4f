// Benchmark harness (built only with `vite build --mode bench`): the Overview's live chart
// with 10 series of 120 points, updated once a second like the live metrics; records the
// main-thread cost of each update (React render + uPlot setData + the next frame).
import { useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { color, LiveChart, type Series } from '../components/LiveChart';

declare global {
  interface Window { frameCosts: number[]; workCosts: number[]; }
}
window.frameCosts = [];
window.workCosts = [];
let started = 0;
const SERIES = 10;
const POINTS = 120;
const INTERVAL = Number(new URLSearchParams(location.search).get('interval') ?? 1000);

function Bench() {
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const timer = setInterval(() => {
      started = performance.now();
      setTick((t) => t + 1);
      requestAnimationFrame(() => requestAnimationFrame(() => {
        window.frameCosts.push(performance.now() - started);
      }));
    }, INTERVAL);
    return () => clearInterval(timer);
  }, []);
  // After the chart's own effect (setData) and uPlot's redraw (a microtask): the
  // main-thread work one update costs.
  useEffect(() => {
    if (!started) return;
    const channel = new MessageChannel();
    channel.port1.onmessage = () => window.workCosts.push(performance.now() - started);
    channel.port2.postMessage(null);
  }, [tick]);
  const now = Date.now() / 1000 + tick;
  const times = Array.from({ length: POINTS }, (_, i) => now - POINTS + i);
  const series: Series[] = Array.from({ length: SERIES }, (_, s) => ({
    label: `series ${s}`,
    color: color(s),
    values: times.map((t) => 50 + 40 * Math.sin(t / 7 + s) + Math.random() * 5),
  }));
  return <LiveChart title="bench" times={times} series={series} height={300} />;
}

createRoot(document.getElementById('root') as HTMLElement).render(<Bench />);
