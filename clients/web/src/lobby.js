/*
 * lobby.js: the page at /: the server's health, the sessions (newest
 * first) with a link to perform in each, one to listen and one to its
 * history, a form that creates a session (POST /api/sessions) and opens it
 * to perform, and an import of an exported session (POST
 * /api/sessions/import) that opens its history page.
 */
const $ = (id) => document.getElementById(id);

async function api(method, path, body) {
  const r = await fetch(path, {
    method,
    headers: body ? { 'Content-Type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const data = await r.json();
  if (!r.ok) throw new Error(data.error ? data.error.message : r.statusText);
  return data;
}

async function health() {
  try {
    const h = await api('GET', '/api/health');
    $('health').textContent = `tuttid ${h.version}, up ${h.uptime_s} s, database ${h.database.ok ? 'ok' : 'failing'}`;
  } catch (e) {
    $('health').textContent = `server unreachable: ${e.message}`;
  }
}

function link(text, href, cls) {
  const a = document.createElement('a');
  a.textContent = text;
  a.href = href;
  a.className = cls;
  return a;
}

async function list() {
  const { sessions } = await api('GET', '/api/sessions');
  const ul = $('sessions');
  ul.replaceChildren();
  if (sessions.length === 0) ul.append(Object.assign(document.createElement('li'), { textContent: 'no sessions yet' }));
  for (const s of sessions) {
    const li = document.createElement('li');
    const name = document.createElement('span');
    name.className = 'sname';
    name.textContent = s.name;
    const small = document.createElement('small');
    small.textContent = ` (${s.id}, created ${new Date(s.created_at).toLocaleString()})`;
    const id = encodeURIComponent(s.id);
    li.append(name, small, link('perform', `/perform.html?s=${id}`, 'btn'), link('listen', `/listen.html?s=${id}`, 'btn alt'),
      link('history', `/history.html?session=${id}`, 'btn alt'));
    ul.append(li);
  }
}

$('create').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  $('error').textContent = '';
  try {
    const s = await api('POST', '/api/sessions', { name: $('name').value });
    $('name').value = '';
    // The creator owns the session: keep the owner token (shown only now)
    // and open the performer page with it.
    localStorage.setItem(`tutti.token.${s.id}`, s.owner_token);
    location.href = `/perform.html?s=${encodeURIComponent(s.id)}&t=${encodeURIComponent(s.owner_token)}`;
  } catch (e) {
    $('error').textContent = e.message;
  }
});

/* Import: the file goes up as it is; the new session's owner token is
 * kept like a created session's, and its history page opens. */
$('import-file').addEventListener('change', async () => {
  const f = $('import-file').files[0];
  if (!f) return;
  $('error').textContent = '';
  $('import-status').textContent = `importing ${f.name}…`;
  try {
    const r = await fetch('/api/sessions/import', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: f });
    const data = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(data.error ? data.error.message : r.statusText);
    localStorage.setItem(`tutti.token.${data.id}`, data.owner_token);
    $('import-status').textContent = `imported as ${data.id}`;
    location.href = `/history.html?session=${encodeURIComponent(data.id)}&t=${encodeURIComponent(data.owner_token)}`;
  } catch (e) {
    $('import-status').textContent = '';
    $('error').textContent = `import: ${e.message}`;
  }
});

health();
list().catch((e) => { $('error').textContent = e.message; });
