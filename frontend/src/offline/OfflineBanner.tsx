import { useAppSelector } from '../hooks';
import { useOnline } from './useOnline';

export function OfflineBanner() {
  const online = useOnline();
  const status = useAppSelector((s) => s.auth.status);
  const queued = useAppSelector((s) => s.outbox.queued.length);
  if (online && status !== 'offline') return null;
  return (
    <div role="status" className="banner offline">
      You are offline — showing the last data loaded.
      {queued > 0 ? ` ${queued} edit(s) will be saved when you reconnect.` : ''}
    </div>
  );
}
