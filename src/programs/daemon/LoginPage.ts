const escape = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;" })[c]!)

/** The local login form: a plain HTML form (no script), posted back to the same path. */
export const loginPage = ({ css, error }: { readonly css: string | undefined; readonly error?: string }) =>
  `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>repowire · log in</title>
${css === undefined ? "" : `<link rel="stylesheet" href="${escape(css)}">`}
</head>
<body>
<form class="login" method="post" action="login">
<h1>repowire</h1>
<p>This daemon has an auth token (<code>daemon.auth_token</code> in config.yaml). Enter it to open the dashboard.</p>
${error === undefined ? "" : `<p class="result err" role="alert">${escape(error)}</p>`}
<input type="password" name="token" autocomplete="current-password" aria-label="auth token" placeholder="auth token" required autofocus>
<button type="submit">Log in</button>
</form>
</body>
</html>
`
