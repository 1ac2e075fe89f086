/** One big figure of a totals row, with the word under it. */
export interface Total {
  /** Shown as given: a number, or a placeholder such as '…' while loading. */
  value: string | number;
  label: string;
  testId: string;
}

/** A row of big figures (kudos today / this week / …, ratings this session): one look, several pages. */
export function Totals({ items }: { items: readonly Total[] }) {
  return (
    <div className="totals">
      {items.map((t) => (
        <div key={t.testId}>
          <span className="big" data-testid={t.testId}>
            {t.value}
          </span>
          <span className="muted">{t.label}</span>
        </div>
      ))}
    </div>
  );
}
