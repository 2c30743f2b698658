import { Layout, type PageContext } from "../ui";

export function SignInPage({
  csrf,
  error,
  configured,
  action,
}: {
  csrf: string;
  error?: string;
  configured: boolean;
  action: string;
}) {
  return (
    <Layout title="Sign in">
      <div class="signin">
        <h1>Sign in to the Switchboard console</h1>
        {!configured && <p class="warn">Nobody can sign in: set CONSOLE_PASSWORD (or API_KEY) on the service.</p>}
        {error && (
          <p class="error-box" role="alert">
            {error}
          </p>
        )}
        <form method="post" action={`/console/sign-in${action}`}>
          <input type="hidden" name="_csrf" value={csrf} />
          <label>
            Console password or API key
            <input type="password" name="password" autocomplete="current-password" required autofocus />
          </label>
          <button type="submit" class="primary">
            Sign in
          </button>
        </form>
        <p class="muted small">The session lasts 8 hours.</p>
      </div>
    </Layout>
  );
}

export function NotFoundPage({ ctx, what }: { ctx?: PageContext; what?: string }) {
  return (
    <Layout title="Not found" ctx={ctx}>
      <h1>Not found</h1>
      <p>
        {what ?? "There is no such page."} <a href="/console">Back to the overview</a>.
      </p>
    </Layout>
  );
}

export function ErrorPage({ ctx, status, message }: { ctx?: PageContext; status: number; message: string }) {
  return (
    <Layout title={status >= 500 ? "Something went wrong" : "Refused"} ctx={ctx}>
      <h1>{status >= 500 ? "Something went wrong" : "That did not work"}</h1>
      <p>{message}</p>
      <p>
        <a href="/console">Back to the overview</a>
      </p>
    </Layout>
  );
}
