import type { ReactNode } from 'react';
import { Pager } from './Pager';

/** Where the pager of a history table stands. */
export interface PageOf {
  offset: number;
  pageSize: number;
  total: number;
  onChange: (offset: number) => void;
  /** data-testid of the "1–25 of 80" range. */
  testId?: string;
}

/** A history table: column headings, the page's rows (`children`), and Newer / Older under it. */
export function PagedTable({
  columns,
  className,
  page,
  children,
}: {
  columns: readonly string[];
  className?: string;
  page: PageOf;
  children: ReactNode;
}) {
  return (
    <>
      <table className={className}>
        <thead>
          <tr>
            {columns.map((c) => (
              <th key={c}>{c}</th>
            ))}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
      <Pager {...page} />
    </>
  );
}
