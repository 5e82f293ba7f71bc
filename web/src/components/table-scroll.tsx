/**
 * A wide table's box: on a narrow screen the table scrolls sideways inside it, so the box is named
 * and takes the focus (a keyboard scrolls it with the arrow keys).
 */
import type { ComponentChildren } from 'preact';

export function TableScroll({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: a region that scrolls must be reachable by keyboard
    <section class="table-wrap" aria-label={label} tabIndex={0}>
      {children}
    </section>
  );
}
