import { lazy, Suspense, useEffect } from 'react';
import { Navigate, Route, Routes } from 'react-router';
import { restoreSession } from './auth/session';
import { Login } from './auth/Login';
import { isAdmin } from './auth/authSlice';
import { Layout } from './components/Layout';
import { useAppDispatch, useAppSelector } from './hooks';
import { useEvents } from './live/useEvents';
import { useReplay } from './offline/useReplay';
import Overview from './pages/Overview';

const Datasets = lazy(() => import('./pages/Datasets'));
const DatasetDetail = lazy(() => import('./pages/DatasetDetail'));
const Pipelines = lazy(() => import('./pages/Pipelines'));
const Analytics = lazy(() => import('./pages/Analytics'));
const Dashboards = lazy(() => import('./pages/Dashboards'));
const DashboardPage = lazy(() => import('./pages/Dashboard'));
const Models = lazy(() => import('./pages/Models'));
const Nlp = lazy(() => import('./pages/Nlp'));
const Jobs = lazy(() => import('./pages/Jobs'));
const Schedules = lazy(() => import('./pages/Schedules'));
const Admin = lazy(() => import('./pages/Admin'));

export default function App() {
  const dispatch = useAppDispatch();
  const status = useAppSelector((s) => s.auth.status);
  const role = useAppSelector((s) => s.auth.user?.role);
  useEffect(() => {
    void restoreSession(dispatch);
  }, [dispatch]);
  useEvents();
  useReplay();

  if (status === 'unknown') return <p className="loading">Loading…</p>;
  if (status === 'anonymous') return <Login />;
  return (
    <Layout>
      <Suspense fallback={<p className="loading">Loading…</p>}>
        <Routes>
          <Route path="/" element={<Overview />} />
          <Route path="/datasets" element={<Datasets />} />
          <Route path="/datasets/:datasetId" element={<DatasetDetail />} />
          <Route path="/pipelines" element={<Pipelines />} />
          <Route path="/analytics" element={<Analytics />} />
          <Route path="/dashboards" element={<Dashboards />} />
          <Route path="/dashboards/:dashboardId" element={<DashboardPage />} />
          <Route path="/models" element={<Models />} />
          <Route path="/nlp" element={<Nlp />} />
          <Route path="/jobs" element={<Jobs />} />
          <Route path="/schedules" element={<Schedules />} />
          {isAdmin(role) && <Route path="/admin" element={<Admin />} />}
          <Route path="*" element={<Navigate to="/" replace />} />
        </Routes>
      </Suspense>
    </Layout>
  );
}
