import '@mantine/core/styles.css';
import './app/styles.css';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { MantineProvider } from '@mantine/core';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { App } from './app/App.tsx';
import { SessionProvider } from './app/session.tsx';
import { theme } from './app/theme.ts';
import { initI18n } from './i18n/index.ts';
import { ApiError } from './lib/errors.ts';

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      // Reads of personal data are audited one by one: never refetch behind the person's back.
      refetchOnWindowFocus: false,
      refetchOnReconnect: false,
      staleTime: 30_000,
      // Retry only when the server could not be reached; a refusal is an answer.
      retry: (count, err) => err instanceof ApiError && err.status === 0 && count < 2,
    },
    mutations: { retry: false, gcTime: 0 },
  },
});

await initI18n();

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <MantineProvider theme={theme} defaultColorScheme="light">
      <QueryClientProvider client={queryClient}>
        <SessionProvider>
          <App />
        </SessionProvider>
      </QueryClientProvider>
    </MantineProvider>
  </StrictMode>,
);
