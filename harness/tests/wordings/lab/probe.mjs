// One token request the way a Node RP makes it, the failure printed with console.error (Node's own rendering).
// node probe.mjs (fetch|https) URL
import https from 'node:https';
const [mode, url] = process.argv.slice(2);
const form = 'grant_type=authorization_code&code=c';
if (mode === 'fetch') {
  try {
    const r = await fetch(url, { method: 'POST', body: form, signal: AbortSignal.timeout(1000),
      headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    console.log('status', r.status, await r.text());
  } catch (err) { console.error(err); }
} else {
  const req = https.request(url, { method: 'POST', timeout: 1000, headers: { 'content-type': 'application/x-www-form-urlencoded' } }, (res) => {
    let body = ''; res.on('data', (d) => body += d); res.on('end', () => console.log('status', res.statusCode, body));
  });
  req.on('timeout', () => req.destroy(new Error('timeout of 1000ms exceeded')));
  req.on('error', (err) => console.error(err));
  req.end(form);
}
