/** The key prompt shown when PLUMBLINE_API_KEY is set and the browser has no session yet. */

import { Notice } from "./components.tsx";
import { Page } from "./layout.tsx";

export function LoginPage(props: {
  next: string;
  error?: string | undefined;
  insecure?: boolean | undefined;
}) {
  return (
    <Page title="Log in">
      <h1>Log in to Plumbline</h1>
      <p>
        This Plumbline asks for its API key (PLUMBLINE_API_KEY). The key is checked once; the
        browser then keeps a session cookie for 12 hours.
      </p>
      {props.error !== undefined && <Notice tone="error">{props.error}</Notice>}
      {props.insecure === true && (
        <Notice>
          This page was reached over plain HTTP on another host: browsers keep the session cookie
          (Secure) only over HTTPS or on localhost. Serve Plumbline behind HTTPS, or open it at
          localhost.
        </Notice>
      )}
      <form method="post" action="/login" class="stack narrow">
        <input type="hidden" name="next" value={props.next} />
        <label for="key">API key</label>
        <input
          id="key"
          name="key"
          type="password"
          autocomplete="current-password"
          required
          autofocus
        />
        <button type="submit">Log in</button>
      </form>
    </Page>
  );
}
