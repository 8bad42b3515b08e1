/**
 * A dense table over one query: loading, error (with retry), empty, then the rows — the pattern the
 * admin screens (SCIM, organisation, the lifecycle timeline) share. Columns say their header and how
 * to draw a cell; rows carry their key and optional data attributes for tests and styling.
 */
import type { ReactNode } from 'react';
import { Table } from '@mantine/core';
import { ErrorAlert } from './ErrorAlert.tsx';
import { Empty, Loading } from './states.tsx';

export type Column<R> = {
  key: string;
  header: ReactNode;
  cell: (row: R) => ReactNode;
  /** Props for the cell (e.g. `fw: 600`, a class name). */
  cellProps?: (row: R) => Record<string, unknown>;
};

/** The subset of a TanStack Query result the table reads. */
export type TableQuery<R> = { isPending: boolean; isError: boolean; error: unknown; data: readonly R[] | undefined; refetch: () => unknown };

export function QueryTable<R>({ query, rows, columns, rowKey, rowProps, label, testId, emptyTitle, emptyHint }: {
  query: TableQuery<unknown>;
  /** The rows to show (defaults to the query's data): lets a page flatten or filter first. */
  rows?: readonly R[];
  columns: readonly Column<R>[];
  rowKey: (row: R) => string;
  rowProps?: (row: R) => Record<string, unknown>;
  label: string;
  testId?: string;
  emptyTitle: string;
  emptyHint?: ReactNode;
}) {
  if (query.isPending) return <Loading />;
  if (query.isError) return <ErrorAlert error={query.error} onRetry={() => void query.refetch()} />;
  const list = rows ?? ((query.data ?? []) as readonly R[]);
  if (list.length === 0) return <Empty title={emptyTitle}>{emptyHint}</Empty>;
  return (
    <Table aria-label={label} data-testid={testId}>
      <Table.Thead>
        <Table.Tr>
          {columns.map((c) => <Table.Th key={c.key}>{c.header}</Table.Th>)}
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {list.map((r) => (
          <Table.Tr key={rowKey(r)} {...(rowProps?.(r) ?? {})}>
            {columns.map((c) => <Table.Td key={c.key} {...(c.cellProps?.(r) ?? {})}>{c.cell(r)}</Table.Td>)}
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}
