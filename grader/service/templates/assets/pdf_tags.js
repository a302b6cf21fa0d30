
(() => {
  const pages = [...document.querySelectorAll('.tag-page')];
  const questions = [...document.querySelectorAll('#questions input[name=current]')];
  const current = () => { const q = questions.find((r) => r.checked); return q ? q.value : null; };
  const box = (page, question) =>
    page.querySelector(`input[name=tag][value="${CSS.escape(question + '@' + page.dataset.page)}"]`);
  const toggle = (page) => {
    const question = current(); const input = question && box(page, question);
    if (input) { input.checked = !input.checked; page.classList.toggle('tagged-now', input.checked); }
  };
  const mark = () => pages.forEach((page) => {
    const input = current() && box(page, current());
    page.classList.toggle('tagged-now', !!(input && input.checked));
  });
  questions.forEach((q) => q.addEventListener('change', mark));
  pages.forEach((page) => {
    page.querySelector('img').addEventListener('click', () => { toggle(page); page.focus(); });
    page.addEventListener('keydown', (event) => {
      if (event.target.matches('input')) return;
      if (event.key === ' ' || event.key === 'Enter') { event.preventDefault(); toggle(page); }
    });
  });
  document.addEventListener('keydown', (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || event.target.matches('input[type=text]')) return;
    if (/^[1-9]$/.test(event.key) && questions[Number(event.key) - 1]) {
      questions[Number(event.key) - 1].checked = true; mark(); event.preventDefault();
    } else if (event.key === 'ArrowRight' || event.key === 'ArrowLeft') {
      const at = pages.indexOf(document.activeElement.closest('.tag-page'));
      const next = pages[Math.max(0, Math.min(pages.length - 1, at + (event.key === 'ArrowRight' ? 1 : -1)))];
      if (next) { next.focus(); event.preventDefault(); }
    }
  });
  mark();
})();
