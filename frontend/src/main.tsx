import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { Provider } from 'react-redux';
import { BrowserRouter } from 'react-router';
import App from './App';
import { REHYDRATE_API } from './offline/persist';
import { loadCache } from './offline/persist';
import { loadOutbox, outbox } from './offline/outbox';
import { makeStore, persistStore } from './store';
import { applyTheme, storedTheme } from './components/theme';
import './styles.css';

async function start(): Promise<void> {
  applyTheme(storedTheme()); // before the first paint: no flash of the wrong theme
  const store = makeStore();
  // The last API data and queued offline edits, from IndexedDB, before the first render.
  const [cache, queued] = await Promise.all([loadCache(), loadOutbox()]);
  if (cache) store.dispatch({ type: REHYDRATE_API, payload: cache });
  if (queued) store.dispatch(outbox.restored(queued));
  persistStore(store);
  const root = document.getElementById('root');
  if (!root) throw new Error('no #root element');
  createRoot(root).render(
    <StrictMode>
      <Provider store={store}>
        <BrowserRouter>
          <App />
        </BrowserRouter>
      </Provider>
    </StrictMode>,
  );
}

void start();
