import { attributesToString, escapeHtml, isVoidElement } from "@kitajs/html";
import type { KitaElements } from "./kita-elements";

/**
 * The console's JSX runtime: @kitajs/html renders elements and attributes, but text is escaped by default here
 * (kita escapes children only when asked with `safe`). Markup made by JSX is an `Html`; any string is text. Webhook
 * bodies and SMS are written by strangers, so a forgotten `safe` must not be an injection.
 */
export class Html {
  constructor(readonly value: string) {}
  toString() {
    return this.value;
  }
}

export type Child = Html | string | number | bigint | boolean | null | undefined | readonly Child[];

export function render(child: Child): string {
  if (child instanceof Html) return child.value;
  if (child === null || child === undefined || typeof child === "boolean") return "";
  if (Array.isArray(child)) return child.map(render).join("");
  return escapeHtml(String(child));
}

type Props = Record<string, unknown> & { children?: Child };
type Component = (props: any) => Html;

export function jsx(tag: string | Component, props: Props): Html {
  if (typeof tag === "function") return tag(props);
  const { children, ...attributes } = props;
  // The console's CSP allows no inline styles: a style attribute would silently do nothing.
  if ("style" in attributes) throw new Error(`<${tag} style>: inline styles are blocked by the CSP; use a class`);
  if ("attrs" in attributes) throw new Error(`<${tag} attrs>: raw attribute strings are not allowed`);
  const open = `<${tag}${attributesToString(escapeAttributes(attributes))}`;
  if (isVoidElement(tag)) return new Html(`${open}>`);
  return new Html(`${open}>${render(children)}</${tag}>`);
}

/** kita escapes only `"` in attribute values; `&` and `<` are escaped here too, so a value reads back as written. */
function escapeAttributes(attributes: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(attributes)) {
    if (key === "class" && Array.isArray(value))
      out[key] = value.map((v) => (typeof v === "string" ? escapeHtml(v) : v));
    else if (typeof value === "string" || (typeof value === "object" && value !== null && !(value instanceof Date))) {
      out[key] = escapeHtml(String(value));
    } else out[key] = value;
  }
  return out;
}

export const jsxs = jsx;
export const jsxDEV = jsx;

export function Fragment(props: { children?: Child }): Html {
  return new Html(render(props.children));
}

/** Markup that is already safe (a whole rendered page, a constant). Never for data. */
export const trusted = (html: string) => new Html(html);

export namespace JSX {
  export type Element = Html;
  export interface ElementChildrenAttribute {
    children: {};
  }
  export type IntrinsicElements = {
    [K in keyof KitaElements]: Omit<KitaElements[K], "children" | "safe" | "style"> & { children?: Child };
  };
}
