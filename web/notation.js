// Chatwork message notation for the hibiki web client: turns a message body into DOM nodes.
// Every piece of user text becomes a text node (textContent); no HTML is ever parsed, so a body
// cannot inject markup. Tags it understands: [To:id] [toall] [rp aid=id to=room-message]
// [qt][qtmeta aid=id time=t]…[/qt] [info]…[/info] [title]…[/title] [code]…[/code] [hr]
// [picon:id] [piconname:id] [download:id]name[/download]. Anything else (including unbalanced
// tags) stays as written.
'use strict';

window.hibikiNotation = (() => {
  // A file's tag is one token with its name: a filename has no "/" or line break (the server
  // refuses them), so the first "[/download]" on the line closes it, whatever brackets the name has.
  const TAG = /\[(To:(\d+)|toall|rp aid=(\d+) to=(\d+)-(\d+)|qtmeta aid=(\d+)(?: time=(\d+))?|picon:(\d+)|piconname:(\d+)|hr|\/?(?:qt|info|title|code)|download:(\d+)\]([^\n]*?)\[\/download)\]/g;
  const BLOCKS = { qt: 'blockquote', info: 'div', title: 'div', code: 'pre' };

  function el(tag, className, test) {
    const e = document.createElement(tag);
    if (className) e.className = className;
    if (test) e.dataset.test = test;
    return e;
  }

  // Tokens: {text} or {tag, m (the regex match)}.
  function tokenize(body) {
    const out = [];
    let last = 0;
    TAG.lastIndex = 0;
    for (let m = TAG.exec(body); m !== null; m = TAG.exec(body)) {
      if (m.index > last) out.push({ text: body.slice(last, m.index) });
      out.push({ tag: m[1], m });
      last = m.index + m[0].length;
    }
    if (last < body.length) out.push({ text: body.slice(last) });
    return out;
  }

  // Which opening tags have a matching close later (so an unbalanced one stays literal text).
  function balanced(tokens) {
    const ok = new Set();
    const stack = [];
    tokens.forEach((t, i) => {
      if (!t.tag) return;
      if (BLOCKS[t.tag]) { stack.push({ name: t.tag, i }); return; }
      if (t.tag[0] === '/' && BLOCKS[t.tag.slice(1)]) {
        const name = t.tag.slice(1);
        const at = stack.map((s) => s.name).lastIndexOf(name);
        if (at >= 0) {
          ok.add(stack[at].i);
          ok.add(i);
          stack.length = at;
        }
      }
    });
    return ok;
  }

  // A chip naming an account ([To:], [rp]). When the text right after it starts with that
  // account's name, now or an earlier one (pickers write "[To:2]bob"), the chip already says it:
  // skip it.
  function stripName(tokens, i, names) {
    const next = tokens[i + 1];
    if (!next || next.text === undefined) return;
    for (const name of names) {
      if (!name || !next.text.startsWith(name)) continue;
      const rest = next.text.slice(name.length);
      if (rest === '' || /^(\s|さん)/.test(rest)) { next.text = rest; return; }
    }
  }

  /// Renders `body`; ctx = {nameOf(id) -> string, formerNames(id) -> iterable of strings, meId,
  /// onReply(roomId, messageId), optional fileCard(fileId, name) -> Node (else a file is a chip
  /// with its name)}.
  /// Returns {fragment, mentionsMe}: mentionsMe when [To:me], [toall] or a reply to me.
  function render(body, ctx) {
    const tokens = tokenize(body);
    const ok = balanced(tokens);
    const root = document.createDocumentFragment();
    const stack = [{ node: root, name: null }];
    let mentionsMe = false;
    const top = () => stack[stack.length - 1];
    const append = (n) => top().node.append(n);
    const text = (s) => { if (s) append(document.createTextNode(s)); };

    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i];
      if (t.text !== undefined) { text(t.text); continue; }
      const m = t.m;
      // Inside [code] everything but its own close is literal.
      if (top().name === 'code' && !(t.tag === '/code' && ok.has(i))) { text(m[0]); continue; }
      if (BLOCKS[t.tag]) {
        if (!ok.has(i)) { text(m[0]); continue; }
        const node = el(BLOCKS[t.tag], `cw-${t.tag}`, `cw-${t.tag}`);
        append(node);
        stack.push({ node, name: t.tag });
        continue;
      }
      if (t.tag[0] === '/') {
        if (!ok.has(i)) { text(m[0]); continue; }
        stack.pop();
        continue;
      }
      if (m[2] !== undefined) {  // [To:id]
        const id = Number(m[2]);
        const name = ctx.nameOf(id);
        const chip = el('span', 'cw-to', 'mention');
        chip.dataset.accountId = String(id);
        chip.textContent = `To ${name}`;
        if (id === ctx.meId) { chip.classList.add('me'); mentionsMe = true; }
        append(chip);
        stripName(tokens, i, [name, ...(ctx.formerNames ? ctx.formerNames(id) : [])]);
      } else if (t.tag === 'toall') {
        const chip = el('span', 'cw-to cw-toall', 'mention-all');
        chip.textContent = 'To all';
        mentionsMe = true;
        append(chip);
      } else if (m[3] !== undefined) {  // [rp aid=… to=room-message]
        const id = Number(m[3]);
        const name = ctx.nameOf(id);
        const chip = el('button', 'cw-rp', 'reply-ref');
        chip.type = 'button';
        chip.dataset.accountId = String(id);
        chip.dataset.roomId = m[4];
        chip.dataset.messageId = m[5];
        chip.textContent = `Re ${name}`;
        chip.title = `reply to message ${m[5]}`;
        chip.addEventListener('click', () => ctx.onReply(Number(m[4]), m[5]));
        if (id === ctx.meId) { chip.classList.add('me'); mentionsMe = true; }
        append(chip);
        stripName(tokens, i, [name, ...(ctx.formerNames ? ctx.formerNames(id) : [])]);
      } else if (m[6] !== undefined) {  // [qtmeta aid=… time=…]
        const meta = el('div', 'cw-qtmeta', 'cw-qtmeta');
        const when = m[7] ? ` · ${new Date(Number(m[7]) * 1000).toLocaleString()}` : '';
        meta.textContent = `${ctx.nameOf(Number(m[6]))}${when}`;
        append(meta);
      } else if (m[8] !== undefined || m[9] !== undefined) {  // [picon:id] [piconname:id]
        const id = Number(m[8] !== undefined ? m[8] : m[9]);
        const chip = el('span', 'cw-picon', 'picon');
        chip.textContent = ctx.nameOf(id);
        append(chip);
      } else if (m[10] !== undefined) {  // [download:id]name[/download]
        const fileId = Number(m[10]);
        if (ctx.fileCard) {
          append(ctx.fileCard(fileId, m[11]));
        } else {
          const chip = el('span', 'cw-file', 'file-ref');
          chip.dataset.fileId = String(fileId);
          chip.textContent = m[11];
          append(chip);
        }
      } else if (t.tag === 'hr') {
        append(el('hr', 'cw-hr'));
      } else {
        text(m[0]);
      }
    }
    return { fragment: root, mentionsMe };
  }

  return { render };
})();
