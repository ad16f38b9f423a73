/**
 * "Large text" for a projector: a class on <html> that lab.css scales the page by, remembered in
 * localStorage. The charts draw on canvases, which CSS does not scale: they read the setting with
 * useLargeText() and scale their text themselves.
 */
import { useEffect, useState } from 'react';

export const LARGE_TEXT_CLASS = 'large-text';
const STORAGE_KEY = 'groklab-lab-large-text';
/** How much larger the chart text is in large-text mode (lab.css scales the page's text by 1.3). */
export const LARGE_FONT_SCALE = 1.4;

function isLarge(): boolean {
  return typeof document !== 'undefined' && document.documentElement.classList.contains(LARGE_TEXT_CLASS);
}

/** Applies the remembered setting; call once before the first render (main.tsx) to avoid a jump. */
export function applyStoredLargeText(): void {
  try {
    if (localStorage.getItem(STORAGE_KEY) === '1') document.documentElement.classList.add(LARGE_TEXT_CLASS);
  } catch {
    // Storage blocked (private mode, file://): the page starts in normal size.
  }
}

/** Whether large text is on now; re-renders when it changes. */
export function useLargeText(): boolean {
  const [large, setLarge] = useState(isLarge);
  useEffect(() => {
    const observer = new MutationObserver(() => setLarge(isLarge()));
    observer.observe(document.documentElement, { attributes: true, attributeFilter: ['class'] });
    setLarge(isLarge());
    return () => observer.disconnect();
  }, []);
  return large;
}

export function LargeTextToggle() {
  const large = useLargeText();
  return (
    <label className="toggle large-text-toggle">
      <input
        type="checkbox"
        data-testid="large-text-toggle"
        checked={large}
        onChange={(e) => {
          document.documentElement.classList.toggle(LARGE_TEXT_CLASS, e.target.checked);
          try {
            localStorage.setItem(STORAGE_KEY, e.target.checked ? '1' : '0');
          } catch {
            // Not remembered; it still applies to this page.
          }
        }}
      />{' '}
      Large text
    </label>
  );
}
