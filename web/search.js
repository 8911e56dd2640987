// Full-text search for the hibiki web client (docs/protocol.md, "search"): a box above the rooms,
// a list of results (room, author, time, snippet), and a click on a result that opens its room at
// the message. The server's snippet is HTML-escaped text with <mark>…</mark> around the matches;
// it is turned into text nodes and <mark> elements here and never parsed as HTML, like every
// other piece of user text in the client.
'use strict';

window.hibikiSearch = (() => {
  const PAGE = 20;
  const MARK_OPEN = '<mark>';
  const MARK_CLOSE = '</mark>';
  const ENTITIES = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'", '&#x27;': "'" };

  function unescapeHtml(text) {
    return text.replace(/&(?:amp|lt|gt|quot|#39|#x27);/g, (m) => ENTITIES[m]);
  }

  /// The snippet as DOM nodes: its text as text nodes, each match in a <mark>.
  function snippetNodes(snippet) {
    const frag = document.createDocumentFragment();
    let rest = String(snippet || '');
    while (rest.length > 0) {
      const open = rest.indexOf(MARK_OPEN);
      if (open < 0) { frag.append(document.createTextNode(unescapeHtml(rest))); break; }
      if (open > 0) frag.append(document.createTextNode(unescapeHtml(rest.slice(0, open))));
      const close = rest.indexOf(MARK_CLOSE, open + MARK_OPEN.length);
      const end = close < 0 ? rest.length : close;
      const mark = document.createElement('mark');
      mark.textContent = unescapeHtml(rest.slice(open + MARK_OPEN.length, end));
      frag.append(mark);
      rest = close < 0 ? '' : rest.slice(close + MARK_CLOSE.length);
    }
    return frag;
  }

  /// deps: request, el, nameOf, learnName, formatTime, showError, roomName(roomId),
  /// openAt(roomId, messageId).
  function create(deps) {
    const $ = (id) => document.getElementById(id);
    let query = null;      // the search shown: {q, order}
    let results = [];
    let total = 0;
    let generation = 0;    // a newer search makes an older reply stale

    function render() {
      const list = $('search-results');
      list.replaceChildren(...results.map((hit) => {
        const m = hit.message;
        const button = deps.el('button', { className: 'search-open', test: 'search-open' });
        button.type = 'button';
        const meta = deps.el('div', { className: 'search-meta' });
        meta.append(
          deps.el('span', { className: 'search-room', test: 'search-room', text: deps.roomName(hit.room_id) }),
          deps.el('span', { className: 'search-author', test: 'search-author', text: deps.nameOf(m.account_id) }),
          deps.el('time', { className: 'search-time', text: deps.formatTime(m.send_time) }));
        const snippet = deps.el('div', { className: 'search-snippet', test: 'search-snippet' });
        snippet.append(snippetNodes(hit.snippet));
        button.append(meta, snippet);
        button.addEventListener('click', () => deps.openAt(hit.room_id, m.message_id));
        return deps.el('li', { className: 'search-result', test: 'search-result',
          data: { roomId: String(hit.room_id), messageId: m.message_id } }, button);
      }));
      list.dataset.loaded = 'true';
      $('search-summary').textContent = total === 0 ? 'no messages found'
        : `${total} message${total === 1 ? '' : 's'} found`;
      $('search-more').hidden = results.length >= total;
    }

    async function run(more) {
      if (!query) return;
      const mine = more ? generation : ++generation;
      if (!more) {
        results = [];
        total = 0;
        $('search-panel').hidden = false;
        $('search-results').dataset.loaded = 'false';
        $('search-summary').textContent = 'searching…';
      }
      try {
        const reply = await deps.request('search', {
          q: query.q, order: query.order, limit: PAGE, offset: results.length });
        if (mine !== generation) return;
        for (const hit of reply.results || []) {
          if (hit.message.account) deps.learnName(hit.message.account.account_id, hit.message.account.name);
          results.push(hit);
        }
        total = reply.total || 0;
        // The index may have dropped a hit the total still counted (a message just deleted).
        if ((reply.results || []).length < PAGE) total = results.length;
        render();
      } catch (err) {
        if (mine !== generation) return;
        $('search-summary').textContent = '';
        deps.showError('search', err);
      }
    }

    function submit() {
      const q = $('search-input').value.trim();
      if (!q) return;
      query = { q, order: $('search-order').value };
      run(false);
    }

    function reset() {
      generation++;
      query = null;
      results = [];
      total = 0;
      $('search-input').value = '';
      $('search-panel').hidden = true;
      $('search-results').replaceChildren();
    }

    $('search-form').addEventListener('submit', (e) => { e.preventDefault(); submit(); });
    $('search-more').addEventListener('click', () => run(true));
    $('search-close').addEventListener('click', reset);
    return { reset };
  }

  return { create, snippetNodes };
})();
