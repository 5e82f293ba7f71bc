/**
 * A screen's h1. After a move between screens (or signing in or out), focus goes to it, so keyboard
 * and screen-reader users start at the top of the new screen, not on a control that has gone.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useLayoutEffect, useRef } from 'preact/hooks';

/** False only for the page's first screen: focus stays where the browser put it on load. */
let focusOnMount = false;
addEventListener('hashchange', () => {
  focusOnMount = true;
});

/** The next screen title to appear takes the focus (after a change that is not a move in the address). */
export function focusNextScreenTitle(): void {
  focusOnMount = true;
}

/** Focus to the title of the screen shown now (when the control that had it goes away). */
export function focusScreenTitle(): void {
  document.querySelector<HTMLElement>('main h1')?.focus();
}

export function ScreenTitle({ children }: { children: ComponentChildren }) {
  const heading = useRef<HTMLHeadingElement>(null);
  // In the render that shows the screen (not after the next paint), so keys go to the new screen.
  useLayoutEffect(() => {
    if (focusOnMount) heading.current?.focus();
  }, []);
  // The tab's title names the screen too (what a screen reader says first, what the history lists).
  useEffect(() => {
    const text = heading.current?.textContent?.trim();
    document.title = text === undefined || text === '' ? 'Chilly Movies' : `${text} · Chilly Movies`;
  });
  return (
    <h1 ref={heading} tabIndex={-1}>
      {children}
    </h1>
  );
}
