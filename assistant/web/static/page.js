// Clicking [n] opens (and highlights) source n; hovering it highlights the card in the panel.
(() => {
  const card = (el) => {
    const a = el && el.closest ? el.closest('a.ap-cite, a[href^="#src-"]') : null;
    if (!a) return [null, null];
    const id = a.getAttribute('data-src') || (a.getAttribute('href') || '').slice(1);
    return [a, id ? document.getElementById(id) : null];
  };
  const pane = () => document.getElementById('ap-sources');
  const reveal = (target, smooth) => {
    for (let d = target.parentElement; d; d = d.parentElement) if (d.tagName === 'DETAILS') d.open = true;
    const p = pane();
    if (p && p.contains(target)) {
      const c = target.getBoundingClientRect(), r = p.getBoundingClientRect();
      if (c.top >= r.top && c.bottom <= r.bottom) return;  // already in view
      p.scrollTo({top: c.top - r.top + p.scrollTop - 8, behavior: smooth ? 'smooth' : 'auto'});
    }
  };
  document.addEventListener('click', (e) => {
    const [a, target] = card(e.target);
    if (!a) return;
    e.preventDefault(); e.stopPropagation();
    if (!target) return;
    document.querySelectorAll('.ap-src.ap-active').forEach((x) => x.classList.remove('ap-active'));
    target.classList.add('ap-active');
    reveal(target, true);
    const p = pane();
    const r = p ? p.getBoundingClientRect() : null;
    if (r && (r.top < 0 || r.top > window.innerHeight)) p.scrollIntoView({block: 'start'});
  }, true);
  document.addEventListener('mouseover', (e) => {
    const [a, target] = card(e.target);
    if (!target) return;
    target.classList.add('ap-hover');
    reveal(target, false);
  });
  document.addEventListener('mouseout', (e) => {
    const [a, target] = card(e.target);
    if (target) target.classList.remove('ap-hover');
  });
})();
