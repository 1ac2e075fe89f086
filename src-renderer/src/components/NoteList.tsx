/** A list of notes (remarks under a card), or nothing when there are none. */
export function NoteList({ notes, className }: { notes: readonly string[]; className: string }) {
  if (notes.length === 0) return null;
  return (
    <ul className={className}>
      {notes.map((n) => (
        <li key={n}>{n}</li>
      ))}
    </ul>
  );
}
