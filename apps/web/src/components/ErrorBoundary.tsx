/** A screen that fails to render (or a code chunk that fails to load) shows a message, not a blank page. */
import { Component, type ReactNode } from 'react';
import { Alert, Button, Stack, Text } from '@mantine/core';
import i18next from 'i18next';

type Props = { children: ReactNode; resetKey?: string };
type State = { failed: boolean; resetKey: string | undefined };

export class ErrorBoundary extends Component<Props, State> {
  override state: State = { failed: false, resetKey: this.props.resetKey };

  static getDerivedStateFromError(): Partial<State> {
    return { failed: true };
  }

  static getDerivedStateFromProps(props: Props, state: State): Partial<State> | null {
    return props.resetKey !== state.resetKey ? { failed: false, resetKey: props.resetKey } : null;
  }

  override render() {
    if (!this.state.failed) return this.props.children;
    return (
      <Alert color="red" title={i18next.t('errors.screen.title')} role="alert">
        <Stack gap="xs">
          <Text size="sm">{i18next.t('errors.screen.action')}</Text>
          <Button variant="light" color="red" w="fit-content" onClick={() => window.location.reload()}>
            {i18next.t('common.reload')}
          </Button>
        </Stack>
      </Alert>
    );
  }
}
