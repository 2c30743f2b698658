import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { Elysia } from "elysia";
import { securityHeaders } from "./page-headers";

const require = createRequire(import.meta.url);
const dist = (file: string) => readFileSync(require.resolve(`swagger-ui-dist/${file}`), "utf8");

/** Swagger UI draws with inline style attributes; scripts still come only from this origin. */
const DOCS_CSP =
  "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    + "frame-ancestors 'none'; object-src 'none'";

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Switchboard API reference</title>
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script src="/docs/assets/init.js"></script>
</body>
</html>`;

// No validator badge: it would send the document to an outside service.
const INIT = `window.ui = SwaggerUIBundle({ url: "/docs/json", dom_id: "#swagger-ui", validatorUrl: `
  + `null, deepLinking: true });`;

/**
 * GET /docs: Swagger UI from the pinned swagger-ui-dist package, served by the service itself, so the reference
 * renders with no internet connection (@elysiajs/swagger's own page loads its script from a CDN). Mounted after
 * the swagger plugin, whose /docs route it replaces; /docs/json stays the plugin's.
 */
export function docsUi() {
  const files: Record<string, [string, string]> = {
    "swagger-ui.css": [dist("swagger-ui.css"), "text/css; charset=utf-8"],
    "swagger-ui-bundle.js": [dist("swagger-ui-bundle.js"), "text/javascript; charset=utf-8"],
    "init.js": [INIT, "text/javascript; charset=utf-8"],
  };
  const headers = (type: string) => ({ "content-type": type, ...securityHeaders(DOCS_CSP) });
  return new Elysia()
    .get("/docs", () => new Response(PAGE, { headers: headers("text/html; charset=utf-8") }), {
      detail: { hide: true },
    })
    .get(
      "/docs/assets/:file",
      ({ params }) => {
        const file = files[params.file];
        return file ? new Response(file[0], { headers: headers(file[1]) }) : new Response("not found", { status: 404 });
      },
      { detail: { hide: true } },
    );
}
