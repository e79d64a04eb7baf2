import { h } from './dom.js';

/**
 * A button that runs a slow async action: disabled while it runs, with a status line that
 * says what is happening, then what came of it or why it failed (marked `data-done` when done).
 */
export function actionButton(
  label: string,
  attrs: Record<string, string>,
  status: HTMLElement,
  what: { running: string; failed: string },
  run: () => Promise<string>,
): HTMLButtonElement {
  const button: HTMLButtonElement = h(
    'button',
    {
      ...attrs,
      onclick: async () => {
        button.disabled = true;
        status.classList.remove('error');
        status.removeAttribute('data-done');
        status.textContent = what.running;
        try {
          status.textContent = await run();
          status.setAttribute('data-done', '');
        } catch (error) {
          status.textContent = `${what.failed}: ${(error as Error).message}`;
          status.classList.add('error');
        } finally {
          button.disabled = false;
        }
      },
    },
    label,
  );
  return button;
}
