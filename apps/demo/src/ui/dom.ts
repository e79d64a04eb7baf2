type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | undefined | EventListener>;

/** Create an element: attributes (`on*` become listeners), then children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  setAttributes(el, attrs);
  el.append(...children.filter(isPresent).map(toNode));
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/** Create an SVG element with attributes and children. */
export function s<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG_NS, tag);
  setAttributes(el, attrs);
  el.append(...children.filter(isPresent).map(toNode));
  return el;
}

function setAttributes(el: Element, attrs: Attrs): void {
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function') el.addEventListener(name.slice(2), value);
    else el.setAttribute(name, value === true ? '' : String(value));
  }
}

function isPresent(c: Child): c is Node | string | number {
  return c !== null && c !== undefined && c !== false;
}

function toNode(c: Node | string | number): Node {
  return typeof c === 'object' ? c : document.createTextNode(String(c));
}

/** A number as the page shows it: fixed decimals, -inf spelled out. */
export function fmt(v: number, digits = 3): string {
  if (v === Number.NEGATIVE_INFINITY) return '-inf';
  if (v === Number.POSITIVE_INFINITY) return 'inf';
  return v.toFixed(digits);
}
