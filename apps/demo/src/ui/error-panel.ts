import { h } from './dom.js';

/**
 * Errors never leave a blank page: they land in a panel at the top, with the message and
 * where it came from, and the rest of the page keeps working.
 */
export function showError(panel: HTMLElement, error: unknown, context: string): void {
  const e = error instanceof Error ? error : new Error(String(error));
  panel.hidden = false;
  panel.append(
    h(
      'div',
      { class: 'error', role: 'alert' },
      h('b', {}, `${context}: `),
      `${e.name === 'Error' ? '' : `${e.name}: `}${e.message}`,
    ),
  );
  console.error(e);
}

export function clearErrors(panel: HTMLElement): void {
  panel.replaceChildren();
  panel.hidden = true;
}

/** Catch what escapes everything else (script errors, rejected promises). */
export function catchGlobalErrors(panel: HTMLElement): void {
  window.addEventListener('error', (e) => showError(panel, e.error ?? e.message, 'Script error'));
  window.addEventListener('unhandledrejection', (e) => showError(panel, e.reason, 'Unhandled'));
}
