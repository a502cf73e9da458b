// The sandbox banner (issue 13 point 6): GET /healthz says whether the gateway's providers
// are simulators in this process. The page says so before anyone signs in, so a sandbox is
// never mistaken for a real deployment. /healthz is public, so this needs no key.

export async function showSandboxBanner(banner) {
  try {
    const res = await fetch("/healthz", { headers: { Accept: "application/json" } });
    const body = await res.json();
    const sandbox = body && body.sandbox === true;
    banner.hidden = !sandbox;
    document.body.dataset.sandbox = String(sandbox);
  } catch {
    // No answer: say nothing rather than guess; the models document says it too.
    document.body.dataset.sandbox = "unknown";
  }
}
