import type { Harness } from "./harness";

/** A cookie jar and form helpers for driving the console through the app, as a browser without JS would. */
export function consoleClient(h: Harness, origin = "http://localhost") {
  const jar = new Map<string, string>();
  const keep = (res: Response) => {
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const at = pair!.indexOf("=");
      const name = pair!.slice(0, at);
      const value = pair!.slice(at + 1);
      if (/Max-Age=0/i.test(line) || value === "") jar.delete(name);
      else jar.set(name, value);
    }
    return res;
  };
  const cookieHeader = () => [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
  const get = async (path: string, headers: Record<string, string> = {}) =>
    keep(await h.request(path, { headers: { cookie: cookieHeader(), ...headers } }));
  const post = async (path: string, fields: Record<string, string>, headers: Record<string, string> = {}) =>
    keep(
      await h.request(path, {
        method: "POST",
        headers: { cookie: cookieHeader(), "content-type": "application/x-www-form-urlencoded", origin, ...headers },
        body: new URLSearchParams(fields).toString(),
      }),
    );
  /** The CSRF token of the forms on a page. */
  const csrfOf = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? "";
  async function signIn(password: string) {
    const form = await get("/console/sign-in");
    return post("/console/sign-in", { _csrf: csrfOf(await form.text()), password });
  }
  return { jar, get, post, csrfOf, signIn };
}
