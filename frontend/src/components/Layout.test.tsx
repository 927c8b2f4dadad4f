import { render, screen } from '@testing-library/react';
import { Provider } from 'react-redux';
import { MemoryRouter } from 'react-router';
import { describe, expect, it } from 'vitest';
import type { Role } from '../api';
import { signedIn } from '../auth/authSlice';
import Datasets from '../pages/Datasets';
import { makeStore } from '../store';
import { Layout } from './Layout';

function renderAs(role: Role, ui: React.ReactNode) {
  const store = makeStore();
  store.dispatch(signedIn({ token: 't', user: { id: 'u', email: `${role}@example.com`, role } }));
  return render(<Provider store={store}><MemoryRouter>{ui}</MemoryRouter></Provider>);
}

describe('roles in the UI', () => {
  it('shows Admin only to admins', () => {
    renderAs('viewer', <Layout><p>page</p></Layout>);
    expect(screen.getByRole('link', { name: 'Datasets' })).toBeInTheDocument();
    expect(screen.queryByRole('link', { name: 'Admin' })).not.toBeInTheDocument();
  });

  it('admins see the Admin page link', () => {
    renderAs('admin', <Layout><p>page</p></Layout>);
    expect(screen.getByRole('link', { name: 'Admin' })).toBeInTheDocument();
  });

  it('viewers get no upload form; analysts do', () => {
    const viewer = renderAs('viewer', <Datasets />);
    expect(screen.queryByRole('form', { name: 'Upload a dataset' })).not.toBeInTheDocument();
    viewer.unmount();
    renderAs('analyst', <Datasets />);
    expect(screen.getByRole('form', { name: 'Upload a dataset' })).toBeInTheDocument();
    expect(screen.getByLabelText('Name')).toBeInTheDocument();
  });
});
